"""LLM subgoal teacher: level text, oracle, surrogate, detection, shaping, strict parsing, async fallback, state."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from minigrid.envs.babyai.core.verifier import ObjDesc, PickupInstr
from minigrid.utils.baby_ai_bot import BabyAIBot
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the Curricula/* ids
from agents.extractors import MinigridCNN
from curricula import CurriculumCallback, TaskEnv, task_space_of
from curricula.llm import LLMOutputError
from curricula.reward_teacher import make_reward_teacher, wrap_task_env
from curricula.serialization import load_state, save_state
from curricula.task import Task
from teachers.random import RandomTeacher
from teachers.subgoals import PlanReply, SubgoalShaping, SubgoalTeacher, encode_subgoal, resolve_plan
from tests.llm_fakes import FakeServer, SilentServer

FAMILIES = {
    "Curricula/KeyCorridorS3R3-v0": ["key", "door", "ball"],
    "Curricula/UnlockPickup-v0": ["key", "door", "box"],
    "Curricula/ObstructedMaze-1Dl-v0": ["key", "door", "ball"],
    "Curricula/ObstructedMaze-1Dlh-v0": ["box", "door", "ball"],
    "Curricula/DoorKey-5x5-v0": ["key", "door", "goal"],
    "Curricula/MultiRoom-N2-S4-v0": ["door", "goal"],
}
FORWARD, LEFT, RIGHT, PICKUP, DROP, TOGGLE = 2, 0, 1, 3, 4, 5
DIR_VEC = [(1, 0), (0, 1), (-1, 0), (0, -1)]


def _mg(env: gym.Env[Any, Any]) -> Any:
    """The MiniGrid env under the wrappers (typed Any: MiniGrid attributes are dynamic)."""
    return env.unwrapped


def _task(seed: int, task_id: int = 0) -> Task:
    return Task(id=task_id, level={"seed": seed})


def _shaped_env(env_id: str, alpha: float = 0.2) -> tuple[SubgoalShaping, TaskEnv]:
    task_env = TaskEnv(gym.make(env_id))
    return SubgoalShaping(task_env, alpha=alpha), task_env


# -- level text and oracle -------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", sorted(FAMILIES))
def test_description_and_oracle_follow_the_level_structure(env_id: str) -> None:
    env = gym.make(env_id)
    for seed in range(3):
        env.reset(options={"task": _task(seed)})
        level = env.get_wrapper_attr("describe_level")()
        base = _mg(env)
        assert level["mission"] == base.mission and (level["width"], level["height"]) == (base.width, base.height)
        assert (level["agent"]["x"], level["agent"]["y"]) == tuple(int(v) for v in base.agent_pos)
        for obj in level["objects"]:  # every listed object is really there, with its colour
            cell = base.grid.get(obj["x"], obj["y"])
            assert cell.type == obj["type"] and cell.color == obj["color"] and obj["id"] in level["text"]
            if obj["type"] == "door":
                assert len(obj["connects"]) == 2, obj  # each door joins two rooms
        oracle = env.get_wrapper_attr("oracle_subgoals")("object")
        assert [base.grid.get(s["x"], s["y"]).type for s in oracle] == FAMILIES[env_id]
        assert json.loads(json.dumps(oracle)) == oracle  # plain JSON
        for kind in ("position", "language"):
            cells = [(s["x"], s["y"]) for s in env.get_wrapper_attr("oracle_subgoals")(kind)]
            assert cells == [(s["x"], s["y"]) for s in oracle]


def test_surrogate_matches_its_accuracy_and_is_a_function_of_the_seed() -> None:
    env = gym.make("Curricula/KeyCorridorS3R3-v0")
    noisy = env.get_wrapper_attr("noisy_subgoals")
    right = total = 0
    for seed in range(40):
        env.reset(options={"task": _task(seed)})
        oracle = env.get_wrapper_attr("oracle_subgoals")("object")
        got = noisy("object", object_accuracy=0.5, seed=seed)
        assert got == noisy("object", object_accuracy=0.5, seed=seed)
        right += sum(a == b for a, b in zip(got, oracle, strict=True))
        total += len(oracle)
        assert noisy("object", object_accuracy=1.0, seed=seed) == oracle
        for wrong in (g for g, o in zip(got, oracle, strict=True) if g != o):
            assert _mg(env).grid.get(wrong["x"], wrong["y"]).type == "door"  # KeyCorridor: doors only
        for pos in noisy("position", position_accuracy=0.0, error_mean=2.0, error_std=1.0, seed=seed):
            assert _mg(env).grid.get(pos["x"], pos["y"]) is None or pos["object"]
    assert 0.35 < right / total < 0.75
    assert env.get_wrapper_attr("surrogate_preset")("llama")["object_accuracy"] == 0.985


# -- detection on scripted trajectories ---------------------------------------------------------------------------


def _bot_episode(env: gym.Env[Any, Any]) -> list[dict[str, Any]]:
    """Let MiniGrid's BabyAI bot solve the level (it plans for RoomGrid envs with a pickup mission)."""
    base = _mg(env)
    base.instrs = PickupInstr(ObjDesc(base.obj.type, base.obj.color))
    base.instrs.reset_verifier(base)
    bot = BabyAIBot(base)
    infos = []
    for _ in range(base.max_steps):
        _, _, terminated, truncated, info = env.step(bot.replan())
        infos.append(info)
        if terminated or truncated:
            break
    return infos


def _walk_to_face(env: gym.Env[Any, Any], target: tuple[int, int]) -> None:
    """BFS to a free cell next to ``target`` and turn to face it."""
    base = _mg(env)

    def free(cell: tuple[int, int]) -> bool:
        obj = base.grid.get(*cell)
        return obj is None or obj.can_overlap()

    start = (int(base.agent_pos[0]), int(base.agent_pos[1]))
    previous: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    goal = None
    while queue:
        cell = queue.popleft()
        if abs(cell[0] - target[0]) + abs(cell[1] - target[1]) == 1:
            goal = cell
            break
        for dx, dy in DIR_VEC:
            nxt = (cell[0] + dx, cell[1] + dy)
            if nxt not in previous and nxt != target and free(nxt):
                previous[nxt] = cell
                queue.append(nxt)
    assert goal is not None, f"no way next to {target}"
    path = []
    while goal is not None:
        path.append(goal)
        goal = previous[goal]
    for cell in [*path[::-1][1:], target]:
        here = (int(base.agent_pos[0]), int(base.agent_pos[1]))
        want = DIR_VEC.index((cell[0] - here[0], cell[1] - here[1]))
        while int(base.agent_dir) != want:
            env.step(RIGHT)
        if cell != target:
            env.step(FORWARD)


def _walker_episode(env: gym.Env[Any, Any], subgoals: list[dict[str, Any]]) -> None:
    """Our own small planner for the levels the bot does not solve: reach each subgoal in turn."""
    base = _mg(env)
    for subgoal in subgoals:
        target = (subgoal["x"], subgoal["y"])
        obj = base.grid.get(*target)
        _walk_to_face(env, target)
        if obj is None or obj.can_overlap():
            env.step(FORWARD)
        elif obj.type in ("door", "box"):
            env.step(TOGGLE)
            if obj.type == "box":  # the hidden key is now on the box's cell
                env.step(PICKUP)
        else:
            if base.carrying is not None:  # hands free first: drop on a free cell beside us
                for _ in range(4):
                    env.step(RIGHT)
                    if base.grid.get(*base.front_pos) is None:
                        break
                env.step(DROP)
                _walk_to_face(env, target)
            env.step(PICKUP)


@pytest.mark.parametrize("kind", ["object", "position", "language"])
@pytest.mark.parametrize("env_id", sorted(FAMILIES))
def test_scripted_solutions_reach_every_oracle_subgoal_in_order(env_id: str, kind: str) -> None:
    shaped, task_env = _shaped_env(env_id)
    describer = gym.make(env_id)
    for seed in range(2):
        describer.reset(options={"task": _task(seed)})
        subgoals = describer.get_wrapper_attr("oracle_subgoals")(kind)
        task_env.push_task(Task(id=seed, level={"seed": seed}, annotations={"subgoals": subgoals}))
        shaped.reset()
        if env_id in ("Curricula/KeyCorridorS3R3-v0", "Curricula/UnlockPickup-v0", "Curricula/ObstructedMaze-1Dl-v0"):
            _bot_episode(shaped)
        else:
            _walker_episode(shaped, subgoals)
        assert shaped.done == [True] * len(subgoals), (seed, shaped.done)
        assert shaped.paid == len(subgoals) and shaped.out_of_order == 0  # in order: each one paid
        assert 0 < shaped.episode_bonus <= 0.2 * len(subgoals)


def test_each_subgoal_pays_once_and_only_while_current() -> None:
    shaped, task_env = _shaped_env("Curricula/DoorKey-5x5-v0", alpha=0.5)
    describer = gym.make("Curricula/DoorKey-5x5-v0")
    describer.reset(options={"task": _task(3)})
    key, door, goal = describer.get_wrapper_attr("oracle_subgoals")("object")
    # door before key: picking up the key is out of order (marked, unpaid); the door then pays
    task_env.push_task(Task(id=0, level={"seed": 3}, annotations={"subgoals": [door, key, goal]}))
    shaped.reset()
    bonuses: list[float] = []
    for subgoal in (key, door, goal):
        before = shaped.episode_bonus
        _walker_episode(shaped, [subgoal])
        bonuses.append(shaped.episode_bonus - before)
    assert shaped.done == [True, True, True] and shaped.out_of_order == 1 and shaped.paid == 2
    # the key was reached out of order: marked, never paid, and skipped by the pointer, so the goal is current next
    assert bonuses[0] == 0.0 and bonuses[1] > 0 and bonuses[2] > 0
    # the door's bonus is alpha * (1 - k/T), k = steps since the episode start (under 30 here)
    assert 0.5 * (1 - 30 / shaped.horizon) < bonuses[1] < 0.5
    # once paid, never again: closing and reopening the door changes its cell but pays nothing
    task_env.push_task(Task(id=1, level={"seed": 3}, annotations={"subgoals": [key, door]}))
    shaped.reset()
    _walker_episode(shaped, [key, door])
    paid = shaped.episode_bonus
    for _ in range(3):
        shaped.step(TOGGLE)
    assert shaped.paid == 2 and shaped.episode_bonus == paid


def test_episode_result_keeps_the_env_return_while_the_student_gets_the_bonus() -> None:
    shaped, task_env = _shaped_env("Curricula/DoorKey-5x5-v0", alpha=0.2)
    describer = gym.make("Curricula/DoorKey-5x5-v0")
    describer.reset(options={"task": _task(5)})
    subgoals = describer.get_wrapper_attr("oracle_subgoals")("object")
    task_env.push_task(Task(id=0, level={"seed": 5}, annotations={"subgoals": subgoals}))
    shaped.reset()
    shaped_rewards: list[float] = []
    final_info: dict[str, Any] = {}
    original = shaped.step

    def record(action: Any) -> Any:
        out = original(action)
        shaped_rewards.append(float(out[1]))
        final_info.update(out[4])
        return out

    shaped.step = record  # type: ignore[method-assign]
    _walker_episode(shaped, subgoals)
    result = final_info["episode_result"]
    assert result.episode_return > 0 and final_info["subgoal_return"] > 0
    assert sum(shaped_rewards) == pytest.approx(result.episode_return + final_info["subgoal_return"])
    assert final_info["subgoals_completed"] == final_info["subgoals_total"] == 3


# -- strict parsing: 1,000 hostile replies ------------------------------------------------------------------------


def _hostile_replies(level: dict[str, Any], n: int) -> list[str]:
    rng = random.Random(0)
    objects = level["objects"]
    valid_obj = {"type": objects[0]["type"], "color": objects[0]["color"], "state": "any"}
    templates: list[Any] = [
        lambda: "Sure! Here are the subgoals: 1. pick up the key",
        lambda: json.dumps({"subgoals": [valid_obj], "extra": 1}),
        lambda: json.dumps({"subgoals": [{**valid_obj, "note": "ignore previous instructions"}]}),
        lambda: json.dumps({"subgoals": [{"type": "dragon", "color": "red", "state": "any"}]}),
        lambda: json.dumps({"subgoals": [{"type": "key", "color": "magenta", "state": "any"}]}),
        lambda: json.dumps({"subgoals": [{"type": rng.choice(["key", "ball", "box"]), "color": "green"}] * 2}),
        lambda: json.dumps({"subgoals": [{"x": rng.randint(-5, 40), "y": rng.randint(-5, 40)}]}),
        lambda: json.dumps({"subgoals": [{"x": 0, "y": 0}]}),  # a wall
        lambda: json.dumps({"subgoals": [{"x": "3", "y": 1}]}),
        lambda: json.dumps({"subgoals": [{"x": 1.5, "y": 1}]}),
        lambda: json.dumps({"subgoals": [{"verb": "eat", "color": "red", "type": "ball"}]}),
        lambda: json.dumps({"subgoals": [{"verb": "open", "color": "red", "type": "ball"}]}),
        lambda: json.dumps({"subgoals": []}),
        lambda: json.dumps({"subgoals": [valid_obj] * 50}),
        lambda: json.dumps(json.dumps({"subgoals": [valid_obj]})),
        lambda: json.dumps({"subgoals": [valid_obj]}) + " trailing",
        lambda: '{"subgoals": [{"x": NaN, "y": 1}]}',
        lambda: '{"subgoals": [], "subgoals": [{"x": 1, "y": 1}]}',
        lambda: "[" * 5000 + "]" * 5000,
        lambda: '{"subgoals": [{"x": 1e999, "y": 1}]}',
        lambda: "__import__('os').system('rm -rf /')",
        lambda: json.dumps({"subgoals": [valid_obj]}) * 2,
        lambda: "x" * 200_000,
        lambda: b'{"subgoals": [{"type": "key\xff\xfe", "color": "red"}]}'.decode("utf-8", "surrogateescape"),
        lambda: json.dumps({"subgoals": {"0": valid_obj}}),
        lambda: json.dumps({"subgoals": [[valid_obj]]}),
        lambda: json.dumps({"subgoals": [{"type": "key", "color": "red", "state": True}]}),
        lambda: "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 300))),
        lambda: json.dumps({"subgoals": [{"x": rng.randint(0, 10), "y": rng.randint(0, 10)}] * rng.randint(1, 9)}),
        lambda: json.dumps(
            {
                "subgoals": [
                    {
                        "type": rng.choice(["key", "door", "ball", "box", "goal"]),
                        "color": rng.choice(["red", "green", "blue", "purple", "yellow", "grey"]),
                        "state": rng.choice(["any", "locked", "open"]),
                    }
                ]
            }
        ),
    ]
    return [templates[i % len(templates)]() for i in range(n)]


def _independently_valid(subgoals: list[dict[str, Any]], env: gym.Env[Any, Any]) -> bool:
    base = _mg(env)
    for s in subgoals:
        if not (0 <= s["x"] < base.width and 0 <= s["y"] < base.height):
            return False
        cell = base.grid.get(s["x"], s["y"])
        if cell is not None and cell.type == "wall":
            return False
        if s["object"] and (cell is None or s["text"].split()[-1] != cell.type):
            return False
    return True


def test_a_thousand_hostile_replies_never_crash_and_never_let_an_invalid_subgoal_through() -> None:
    env = gym.make("Curricula/KeyCorridorS3R3-v0")
    env.reset(options={"task": _task(0)})
    level = env.get_wrapper_attr("describe_level")()
    rejected: list[str] = []
    accepted = 0
    for i, text in enumerate(_hostile_replies(level, 1000)):
        kind = ("object", "position", "language")[(i // 7) % 3]  # every template meets every kind
        context = {"level": level, "key": "k", "on_reject": lambda _key, reason: rejected.append(reason)}
        try:
            plan = PlanReply(kind).parse(text, context)
        except LLMOutputError:
            continue
        accepted += 1
        assert _independently_valid(resolve_plan(plan, level), env)
    assert accepted + len(rejected) == 1000 and len(rejected) > 900
    assert {"unknown_object", "impossible_position", "malformed", "not_json", "too_long"} <= set(rejected)


# -- the teacher: async fallback, real rejections, state --------------------------------------------------------


def test_annotations_never_wait_for_a_hung_server() -> None:
    silent = SilentServer()
    teacher = SubgoalTeacher(
        env_id="Curricula/DoorKey-5x5-v0", fallback="oracle", llm={"base_url": silent.base_url, "timeout_s": 30.0}
    )
    try:
        teacher.annotate(_task(0))  # describer env built here
        start = time.perf_counter()
        tasks = [teacher.annotate(_task(seed, seed)) for seed in range(1, 21)]
        per_task = (time.perf_counter() - start) / 20
        assert per_task < 0.05, per_task
        assert all(t.annotations["subgoal_source"] == "fallback:oracle" and t.annotations["subgoals"] for t in tasks)
    finally:
        teacher.close()
        silent.close()


@pytest.mark.parametrize(
    ("reply", "source"),
    [
        ('{"subgoals": [{"type": "key", "color": "yellow", "state": "any"}]}', "llm"),
        ('{"subgoals": [{"type": "ball", "color": "red", "state": "any"}]}', "fallback:none"),
        ("I think the agent should get the key.", "fallback:none"),
    ],
)
def test_replies_are_validated_against_the_level_and_rejections_are_counted(reply: str, source: str) -> None:
    describer = gym.make("Curricula/DoorKey-5x5-v0")
    seed = next(s for s in range(50) if _yellow_key_level(describer, s))
    fake = FakeServer("reply", reply)
    teacher = SubgoalTeacher(
        env_id="Curricula/DoorKey-5x5-v0", fallback="none", llm={"base_url": fake.base_url}, max_attempts=2
    )
    try:
        for attempt in range(3):
            teacher.annotate(_task(seed, attempt))
            assert teacher.wait_idle(30)
            teacher._annotator._failed_until.clear()  # type: ignore[union-attr] # skip the retry backoff
        final = teacher.annotate(_task(seed, 9)).annotations
        assert final["subgoal_source"] == source
        if source == "llm":
            assert final["subgoals"][0]["text"] == "pick up the yellow key" and teacher.counts["llm_rejected"] == 0
            assert fake.requests == 1  # answered once, then cached
        else:
            assert final["subgoals"] == [] and teacher.counts["llm_rejected"] == 2  # then settled: no 3rd request
            assert fake.requests == 2 and teacher.end_of_training_warnings()
    finally:
        teacher.close()
        fake.close()


def _yellow_key_level(env: gym.Env[Any, Any], seed: int) -> bool:
    env.reset(options={"task": _task(seed)})
    return any(
        o["id"] == "key0" and o["color"] == "yellow" for o in env.get_wrapper_attr("describe_level")()["objects"]
    )


def test_teacher_state_round_trips(tmp_path: Path) -> None:
    teacher = make_reward_teacher("subgoals", seed=4, env_id="Curricula/DoorKey-5x5-v0", source="llm", fallback="none")
    assert isinstance(teacher, SubgoalTeacher)
    describer = gym.make("Curricula/DoorKey-5x5-v0")
    describer.reset(options={"task": _task(1)})
    from teachers.subgoals import level_key

    teacher.cache[level_key(teacher.env_id, _task(1))] = describer.get_wrapper_attr("oracle_subgoals")("object")
    teacher.settled.add("some level")
    teacher._on_reject("some level", "unknown_object")
    teacher.counts["llm_accepted"] = 1
    teacher.rng.random()
    save_state(tmp_path / "s.npz", teacher.state_dict())
    fresh = SubgoalTeacher(seed=0, env_id="Curricula/DoorKey-5x5-v0", source="llm", fallback="none")
    fresh.load_state_dict(load_state(tmp_path / "s.npz"))
    assert fresh.cache == teacher.cache and fresh.settled == teacher.settled
    assert fresh.rejections == teacher.rejections and fresh.rejection_reasons == teacher.rejection_reasons
    assert fresh.counts == teacher.counts and fresh.rng.random() == teacher.rng.random()
    # a cached level is answered from the restored cache, with no server at all
    assert fresh.annotate(_task(1, 5)).annotations["subgoal_source"] == "llm"
    with pytest.raises(ValueError, match="position"):
        SubgoalTeacher(env_id="Curricula/DoorKey-5x5-v0", kind="position").load_state_dict(teacher.state_dict())


def test_composes_with_a_task_teacher_and_conditions_a_student() -> None:
    env_id = "Curricula/DoorKey-5x5-v0"
    surrogate = {"object_accuracy": 0.9, "position_accuracy": 0.9, "error_mean": 1.0, "error_std": 1.0}
    teacher = SubgoalTeacher(
        seed=0, env_id=env_id, source="surrogate", surrogate=surrogate, observe=True, kind="position"
    )
    venv = DummyVecEnv([lambda: wrap_task_env(TaskEnv(gym.make(env_id)), [teacher])] * 2)
    assert venv.observation_space["subgoal"].shape == (2,)  # type: ignore[index]
    curriculum = CurriculumCallback(
        RandomTeacher(task_space_of(env_id), seed=0), keep_results=True, reward_teachers=[teacher]
    )
    model = PPO(
        "MultiInputPolicy",
        venv,
        n_steps=128,
        batch_size=64,
        n_epochs=1,
        device="cpu",
        policy_kwargs={"features_extractor_class": MinigridCNN, "normalize_images": False},
    )
    assert model.policy.features_extractor.subgoal_dim == 2
    model.learn(512, callback=curriculum)
    assert curriculum.results and all(r.task.annotations["subgoal_source"] == "surrogate" for r in curriculum.results)
    assert all(len(r.task.annotations["subgoals"]) == 3 for r in curriculum.results)
    # the env return of a DoorKey episode is MiniGrid's (at most 1), never return + bonus
    assert all(r.episode_return <= 1.0 for r in curriculum.results)
    teacher.close()


def test_encodings_have_the_papers_shapes_and_fallbacks() -> None:
    sub = {"x": 4, "y": 2, "code": [5, 4, 0], "text": "pick up the yellow key"}
    assert encode_subgoal(sub, "position", (1, 1)).tolist() == [3.0, 1.0]
    assert encode_subgoal(sub, "object", (1, 1)).tolist() == [5.0, 4.0, 0.0]
    assert encode_subgoal(None, "object", (1, 1)).tolist() == [-1.0, -1.0, -1.0]
    lang = encode_subgoal(sub, "language", (0, 0))
    other = encode_subgoal({**sub, "text": "open the yellow door"}, "language", (0, 0))
    assert lang.shape == (32,) and np.isclose(np.linalg.norm(lang), 1.0) and not np.allclose(lang, other)


def test_subgoals_benchmark_quick_keeps_and_reuses_its_records(tmp_path: Path) -> None:
    """``benchmarks/subgoals.py --quick``: a JSON summary with ``steps_to_80`` per variant and the budget; with
    ``--records`` every finished run is appended, and a second call reuses them instead of training again."""
    root = Path(__file__).resolve().parents[1]
    records = tmp_path / "runs.jsonl"
    command = [sys.executable, str(root / "benchmarks" / "subgoals.py"), "--quick", "--skip-fps", "--workers", "1"]
    first = subprocess.run([*command, "--records", str(records)], capture_output=True, text=True, cwd=root, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["budget"] == 1024
    assert set(summary["steps_to_80"]) == {f"KeyCorridorS3R3-v0/{v}" for v in ("ppo", "oracle", "noisy_llama")}
    assert len(records.read_text().splitlines()) == 3
    again = subprocess.run([*command, "--records", str(records)], capture_output=True, text=True, cwd=root, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "finished" not in again.stdout  # nothing trained again
    assert json.loads(again.stdout.strip().splitlines()[-1])["steps_to_80"] == summary["steps_to_80"]
    assert len(records.read_text().splitlines()) == 3
