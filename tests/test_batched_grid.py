"""The batched grid families: step-by-step identical to MiniGrid, the task channel exact, teachers train on them."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

import envs  # registers the ids (and holds BATCHED_ENV_IDS)
import teachers  # noqa: F401 - registers the teachers
from agents import make_student
from agents.robust_ppo import make_robust_student
from curricula import CurriculumCallback, EpisodeResult, Task, make_teacher, task_space_of
from curricula.spaces import TaskSpaceError
from envs.batched_grid import (
    BATCHED_ENV_IDS,
    GOAL,
    WALL,
    BatchedGoalGridVecEnv,
    BatchedMazeVecEnv,
    make_batched_env,
    minigrid_layouts,
)
from envs.maze import HELD_OUT_MAZES, MazeLevelSpace

STEPS_PER_LEVEL = 30


# -- equivalence with MiniGrid ----------------------------------------------------------------------------------
def _random_actions(rng: np.random.Generator, n_levels: int) -> np.ndarray:
    """(steps, levels) actions over all seven, forward 40 % of the time so that goals do get reached."""
    actions = rng.integers(0, 7, (STEPS_PER_LEVEL, n_levels))
    actions[rng.random(actions.shape) < 0.4] = 2
    return actions


def _minigrid_episodes(env: gym.Env[Any, Any], actions: np.ndarray, reset_kwargs: list[dict[str, Any]]) -> list[list]:
    """Each level's first observation, then (obs, reward, terminated, truncated) per step until the episode ends."""
    episodes = []
    for k, kwargs in enumerate(reset_kwargs):
        obs, _ = env.reset(**kwargs)
        steps: list[tuple[Any, ...]] = [(obs,)]
        for action in actions[:, k]:
            obs, reward, terminated, truncated, _ = env.step(int(action))
            steps.append((obs, reward, terminated, truncated))
            if terminated or truncated:
                break
        episodes.append(steps)
    return episodes


def _assert_same_play(venv: BatchedGoalGridVecEnv, first_obs: np.ndarray, actions: np.ndarray, episodes: list) -> int:
    """Step ``venv`` with ``actions`` and compare every level's steps with the MiniGrid episodes; returns the
    number of steps compared."""
    compared = 0
    for k, steps in enumerate(episodes):
        np.testing.assert_array_equal(first_obs[k], steps[0][0], err_msg=f"level {k}: first observation")
    alive = np.ones(len(episodes), dtype=bool)
    for t in range(actions.shape[0]):
        obs_t, reward_t, terminated_t, truncated_t = venv.step_tensors(actions[t])
        for k in np.flatnonzero(alive):
            obs, reward, terminated, truncated = episodes[k][t + 1]
            np.testing.assert_array_equal(obs_t[k].cpu().numpy(), obs, err_msg=f"level {k}, step {t}: observation")
            assert float(reward_t[k]) == reward, f"level {k}, step {t}: reward {float(reward_t[k])} != {reward}"
            assert (bool(terminated_t[k]), bool(truncated_t[k])) == (terminated, truncated), f"level {k}, step {t}"
            compared += 1
            alive[k] = not (terminated or truncated)
    return compared


@pytest.mark.parametrize(
    ("see_through_walls", "max_steps_per_cell", "n_levels"),
    [(True, 2, 400), (True, 1, 300), (False, 1, 300)],
    ids=["registered", "short-limit", "walls-occlude"],
)
def test_mazes_play_exactly_as_in_minigrid(see_through_walls: bool, max_steps_per_cell: int, n_levels: int) -> None:
    """Random mazes of interior 3..13 (and the held-out ones) with random actions: identical at every step."""
    rng = np.random.default_rng(n_levels + max_steps_per_cell)
    levels = [dict(level) for level in HELD_OUT_MAZES.values()]
    while len(levels) < n_levels:
        size = int(rng.integers(3, 14))
        levels.append(MazeLevelSpace(size, 0, min(size * size - 2, 3 * size)).generate(rng))
    tasks = [Task(id=k, level=level) for k, level in enumerate(levels)]
    env = gym.make("Curricula/Maze-v0", max_steps_per_cell=max_steps_per_cell)
    env.unwrapped.see_through_walls = see_through_walls  # type: ignore[attr-defined]
    actions = _random_actions(rng, n_levels)
    episodes = _minigrid_episodes(env, actions, [{"options": {"task": task}} for task in tasks])
    venv = make_batched_env(
        "Curricula/Maze-v0", n_levels, see_through_walls=see_through_walls, max_steps_per_cell=max_steps_per_cell
    )
    venv.set_options([{"task": task} for task in tasks])
    first_obs = venv.reset()
    compared = _assert_same_play(venv, first_obs, actions, episodes)
    ends = Counter((steps[-1][2], steps[-1][3]) for steps in episodes if len(steps) > 1)
    assert compared > 5 * n_levels
    assert ends[(True, False)] > 10, "some episodes reached the goal"
    if max_steps_per_cell == 1:
        assert ends[(False, True)] > 10, "some episodes hit the step limit"


@pytest.mark.parametrize(
    ("env_id", "see_through_walls"), [("Curricula/ObstacleGrid-v0", True), ("Curricula/ObstacleGridWide-v0", False)]
)
def test_obstacle_grids_play_minigrids_layouts_exactly(env_id: str, see_through_walls: bool) -> None:
    """Levels drawn by the MiniGrid env (random task and seed), passed explicitly, played with random actions."""
    n_levels = 150
    rng = np.random.default_rng(7)
    venv = make_batched_env(env_id, n_levels, see_through_walls=see_through_walls)
    space = venv.task_space
    tasks = [Task(id=k, params=space.sample(rng)) for k in range(n_levels)]
    env = gym.make(env_id, max_steps_per_cell=1)
    env.unwrapped.see_through_walls = see_through_walls  # type: ignore[attr-defined]
    layouts = []
    for k, task in enumerate(tasks):
        env.reset(seed=k, options={"task": task})
        layouts.append(minigrid_layouts([env], venv.side_max))
    cells = np.concatenate([layout.cells for layout in layouts])
    explicit = type(layouts[0])(
        cells,
        np.concatenate([layout.agent for layout in layouts]),
        np.concatenate([layout.agent_dir for layout in layouts]),
        np.concatenate([layout.sides for layout in layouts]),
    )
    actions = _random_actions(rng, n_levels)
    episodes = _minigrid_episodes(env, actions, [{"seed": k, "options": {"task": t}} for k, t in enumerate(tasks)])
    venv.max_steps_per_cell = 1
    first_obs = venv.reset_to_layouts(explicit, tasks)
    assert _assert_same_play(venv, first_obs, actions, episodes) > 5 * n_levels


def test_obstacle_layouts_follow_the_minigrid_distribution() -> None:
    """Same counts, same corners, always reachable, and the per-cell wall frequencies of ObstacleGridEnv."""
    n = 1500
    task = {"size": 7, "obstacles": 9}  # 23 candidate cells, 7 blocks (a third of 23): reachability rejects often
    venv = make_batched_env("Curricula/ObstacleGrid-v0", 1, seed=0)
    batched = venv._layouts([dict(task)] * n).cells[:, :7, :7]
    env = gym.make("Curricula/ObstacleGrid-v0")
    minigrid = []
    for seed in range(n):
        env.reset(seed=seed, options={"task": Task(id=0, params=task)})
        minigrid.append(minigrid_layouts([env], 7).cells[0])
    reference = np.stack(minigrid)
    assert ((batched[:, 1:-1, 1:-1] == WALL).sum(axis=(1, 2)) == 7).all()
    assert (batched[:, 5, 5] == GOAL).all() and (batched[:, 1, 1] != WALL).all()
    assert (batched[:, 0, :] == WALL).all() and (batched[:, :, 6] == WALL).all()
    frequency = (batched == WALL).mean(axis=0)
    expected = (reference == WALL).mean(axis=0)
    # cells next to the start and the goal are walls less often (blocking both neighbours is rejected): a
    # generator without the reachability rejection fails this by ~0.08
    assert np.abs(frequency - expected).max() < 0.05, np.round(frequency - expected, 3)


# -- the task channel -------------------------------------------------------------------------------------------
class StepRecorder(BaseCallback):
    """Records the task id and reward of every env step (to rebuild each episode's length and return)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        ids = np.array([info["task_id"] for info in infos])
        self.rows.append((ids, np.asarray(self.locals["rewards"]).copy(), np.asarray(self.locals["dones"]).copy()))
        return True


class RecordingCallback(CurriculumCallback):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pushed: dict[int, list[int]] = defaultdict(list)

    def _push(self, assignments: dict[int, list[Task]]) -> None:
        for env_index, tasks in assignments.items():
            self.pushed[env_index].extend(t.id for t in tasks)
        super()._push(assignments)


def _train_with_recording(venv: BatchedGoalGridVecEnv, lookahead: int, steps: int, second: bool = False):
    teacher = make_teacher("random", venv.task_space, seed=1)
    callback = RecordingCallback(teacher, lookahead=lookahead, keep_results=True)
    recorder = StepRecorder()
    model = make_student("ppo", venv, policy="MlpPolicy", n_steps=32, batch_size=256, n_epochs=1,
                         policy_kwargs=dict(net_arch=[16]))  # fmt: skip
    model.learn(steps, callback=[callback, recorder])
    if second:
        model.learn(steps, callback=[callback, recorder], reset_num_timesteps=True)
    return callback, recorder


@pytest.mark.parametrize("lookahead", [1, 3])
def test_every_episode_is_reported_once_in_push_order_with_its_own_return(lookahead: int) -> None:
    # 3x3 interiors and a 25-step limit: over 10 episodes per env
    venv = BatchedMazeVecEnv(16, MazeLevelSpace(3, 0, 2), seed=0, max_steps_per_cell=1)
    callback, recorder = _train_with_recording(venv, lookahead, steps=4096)
    results: list[EpisodeResult] = callback.results
    assert len(results) > 160 and callback.episodes_reported == len(results)
    ids = [r.task_id for r in results]
    assert len(ids) == len(set(ids)), "a result was reported twice"
    by_env: dict[int, list[int]] = defaultdict(list)
    for r in results:
        by_env[r.env_index].append(r.task_id)
    for env_index, reported in by_env.items():
        assert reported == callback.pushed[env_index][: len(reported)], f"env {env_index} finished out of push order"
        current, pending = venv.env_method("in_flight", indices=[env_index])[0]
        in_flight = [current.id] + [t.id for t in pending]
        assert in_flight == callback.pushed[env_index][len(reported) :]
        assert len(pending) == lookahead
    # rebuild each finished episode from the per-step records: same length, same raw return
    lengths: Counter[int] = Counter()
    returns: defaultdict[int, float] = defaultdict(float)
    for task_ids, rewards, _dones in recorder.rows:
        for i, task_id in enumerate(task_ids):
            assert task_id != -1, "after training start every step plays a teacher's task"
            lengths[int(task_id)] += 1
            returns[int(task_id)] += float(rewards[i])
    for r in results:
        assert r.length == lengths[r.task_id]
        assert r.episode_return == pytest.approx(returns[r.task_id], abs=1e-5)
        assert r.success == (r.episode_return > 0) and r.truncated == (r.episode_return == 0)
    assert any(r.success for r in results) and any(r.truncated for r in results)


def test_a_second_learn_replays_the_cut_episodes_once() -> None:
    venv = BatchedMazeVecEnv(8, MazeLevelSpace(3, 0, 2), seed=0, max_steps_per_cell=1)
    callback, _ = _train_with_recording(venv, lookahead=2, steps=1024, second=True)
    ids = [r.task_id for r in callback.results]
    assert len(ids) == len(set(ids)) and len(ids) > 10
    for env_index in range(8):
        reported = [r.task_id for r in callback.results if r.env_index == env_index]
        assert reported == callback.pushed[env_index][: len(reported)]


def test_push_checks_every_task_before_queueing_any() -> None:
    venv = make_batched_env("Curricula/ObstacleGrid-v0", 3)
    for i in range(3):
        venv.env_method("set_env_index", i, indices=[i])
    good = Task(id=0, params={"size": 7, "obstacles": 3})
    bad = Task(id=1, params={"size": 40, "obstacles": 3})
    with pytest.raises(TaskSpaceError, match="size"):
        venv.env_method("push_tasks", {0: [good], 2: [bad]}, indices=[0, 2])
    assert venv.env_method("in_flight") == [(None, [])] * 3
    with pytest.raises(KeyError, match="env index 1"):
        venv.env_method("push_tasks", {0: [good]}, indices=[0, 1])
    venv.env_method("push_tasks", {0: [good], 2: [Task(id=2, params={"size": 5, "obstacles": 0})]}, indices=[0, 2])
    venv.push_task(1, {"id": 3, "params": {"size": 9, "obstacles": 1}})
    assert [len(p) for _, p in venv.env_method("in_flight")] == [1, 1, 1]
    venv.reset()
    assert [c.id for c, _ in venv.env_method("in_flight")] == [0, 3, 2]
    assert venv.env_method("clear_pending") == [[], [], []]
    assert task_space_of(venv) is venv.task_space
    with pytest.raises(AttributeError, match="supported"):
        venv.env_method("not_a_channel_method")


def test_unassigned_episodes_warn_once_and_report_nothing() -> None:
    venv = make_batched_env("Curricula/Maze-v0", 4, seed=0)
    venv.reset()
    with pytest.warns(UserWarning, match="no task"):
        venv.step(np.full(4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(300):
            _, _, _dones, infos = venv.step(np.random.default_rng(0).integers(0, 3, 4))
            assert all(info["task_id"] == -1 and "episode_result" not in info for info in infos)


def test_factory_ids_and_spaces_mirror_the_minigrid_ids() -> None:
    assert envs.BATCHED_ENV_IDS == BATCHED_ENV_IDS
    assert isinstance(envs.make_batched_env("Curricula/Maze-v0", 2), BatchedMazeVecEnv)
    for env_id in BATCHED_ENV_IDS:
        venv = make_batched_env(env_id, 2)
        reference = gym.make(env_id)
        assert venv.observation_space == reference.observation_space
        assert venv.action_space == reference.action_space
        assert venv.task_space.to_json() == task_space_of(reference).to_json()
    with pytest.raises(KeyError, match="batched ids"):
        make_batched_env("Curricula/Toy-v0", 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_plays_the_same_as_cpu() -> None:
    rng = np.random.default_rng(0)
    out = []
    for device in ("cpu", "cuda"):
        venv = make_batched_env("Curricula/MazeLarge-v0", 64, seed=3, device=device, see_through_walls=False)
        frames = [venv.reset()]
        for actions in np.random.default_rng(1).integers(0, 7, (100, 64)):
            frames.append(venv.step(actions)[0])
        out.append(np.stack(frames))
    np.testing.assert_array_equal(out[0], out[1])
    del rng


# -- teachers train on it ---------------------------------------------------------------------------------------
def test_tiny_robust_plr_run_on_batched_mazes() -> None:
    venv = make_batched_env("Curricula/Maze-v0", 16, seed=0, max_steps_per_cell=1)
    teacher = make_teacher("robust_plr", venv.task_space, seed=0, buffer_size=32, min_fill=0.1, replay_prob=0.5)
    student = make_robust_student(venv, teacher.train_mask, n_steps=32, batch_size=256, n_epochs=1,
                                  policy="MlpPolicy", policy_kwargs=dict(net_arch=[32]))  # fmt: skip
    callback = CurriculumCallback(teacher)
    student.learn(32 * 16 * 8, callback=callback)
    assert callback.episodes_reported > 30
    assert len(teacher.buffer) > 0, "levels were scored from the rollout signals and entered the buffer"
    assert student.updates_done + student.updates_skipped == 8 and student.updates_skipped >= 1


def test_tiny_alp_gmm_run_on_batched_obstacle_grids() -> None:
    venv = make_batched_env("Curricula/ObstacleGrid-v0", 32, seed=0, max_steps_per_cell=1)
    teacher = make_teacher("alp_gmm", venv.task_space, seed=0, fit_rate=50)
    student = make_student("ppo", venv, policy="MlpPolicy", n_steps=32, batch_size=256, n_epochs=1)
    callback = CurriculumCallback(teacher, keep_results=True)
    student.learn(32 * 32 * 8, callback=callback)
    assert callback.episodes_reported > 60
    assert teacher.episodes_seen == callback.episodes_reported, "ALP-GMM heard every result"
    assert len({r.task.params["size"] for r in callback.results}) > 3
