"""ONI without an LLM server: reward models, count decay, unlabelled captions, the noisy oracle, state, composition."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the Curricula/* ids
from agents import make_student
from curricula import CurriculumCallback, TaskEnv, task_space_of
from curricula.reward_teacher import make_reward_teacher
from curricula.serialization import load_state, save_state
from teachers.oni import (
    HELPFUL,
    UNHELPFUL,
    NoisyOracleAnnotator,
    ONITeacher,
    ONIVecEnv,
    label_item,
    preference_item,
)
from teachers.oni_models import ClassificationRewardModel, RankingRewardModel, RetrievalRewardModel
from teachers.random import RandomTeacher
from tests.test_captions import DROP, PICKUP, _find, _path_actions

pytestmark = pytest.mark.filterwarnings("ignore:TaskEnv is stepping an episode with no task")

ZETA_3 = 1.2020569  # sum over n of 1/n^3: what one caption can pay per episode with beta = 3

VERBS = ["dropped", "closed", "walked past", "opened", "picked up"]  # the known order: worst to best
COLORS = ["red", "green", "blue", "purple", "yellow", "grey"]
OBJECTS = ["key", "ball", "box", "door"]


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Any:
    """One torch thread, as the student's process has (make_student): two threads on two busy cores crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _toy_captions() -> list[tuple[str, int]]:
    """(caption, verb rank) for every verb x colour x object."""
    return [(f"you {v} the {c} {o}", rank) for rank, v in enumerate(VERBS) for c in COLORS for o in OBJECTS]


def _split(rng: np.random.Generator) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    captions = _toy_captions()
    order = rng.permutation(len(captions))
    cut = int(0.7 * len(captions))
    return [captions[i] for i in order[:cut]], [captions[i] for i in order[cut:]]


def _seeded_vec_env(env_id: str, n_envs: int = 1, seed: int = 0) -> DummyVecEnv:
    venv = DummyVecEnv([lambda: TaskEnv(gym.make(env_id))] * n_envs)
    venv.seed(seed)
    return venv


# -- reward models: each learns a separable toy labelling --------------------------------------------------------


def test_retrieval_pays_exactly_the_labels_and_zero_for_the_rest() -> None:
    train, held_out = _split(np.random.default_rng(0))
    model = RetrievalRewardModel()
    assert model.rewards([c for c, _ in train]).sum() == 0, "no label yet: 0"
    model.add_labels({c: int(rank >= 3) for c, rank in train})
    accuracy = np.mean(model.rewards([c for c, _ in train]) == [rank >= 3 for _, rank in train])
    assert accuracy > 0.9 and accuracy == 1.0
    assert model.rewards([c for c, _ in held_out]).sum() == 0, "never labelled: 0"


def test_classifier_learns_a_separable_labelling_and_generalises() -> None:
    torch.manual_seed(0)
    train, held_out = _split(np.random.default_rng(1))
    model = ClassificationRewardModel(seed=0)
    assert model.rewards([c for c, _ in held_out]).sum() == 0, "untrained: pays 0"
    model.add_labels({c: int(rank >= 3) for c, rank in train})  # helpful: opened, picked up
    model.train_steps(40)
    predicted = model.rewards([c for c, _ in held_out])
    accuracy = float(np.mean(predicted == np.array([rank >= 3 for _, rank in held_out])))
    assert accuracy > 0.9, f"held-out accuracy {accuracy:.2f}"


def test_ranking_model_recovers_a_known_order() -> None:
    rng = np.random.default_rng(2)
    train, held_out = _split(rng)
    model = RankingRewardModel(seed=0, batch_size=128)
    pairs = []
    for _ in range(600):
        (a, ra), (b, rb) = (train[int(i)] for i in rng.choice(len(train), size=2, replace=False))
        pairs.append((a, b, 1.0 if ra > rb else 0.0 if ra < rb else 0.5))  # soft labels, ties 0.5
    model.add_preferences(pairs)
    model.train_steps(60)
    scores = model.scores([c for c, _ in held_out])
    ranks = np.array([r for _, r in held_out])
    ordered = [
        (scores[i] > scores[j]) == (ranks[i] > ranks[j])
        for i, j in itertools.combinations(range(len(ranks)), 2)
        if ranks[i] != ranks[j]
    ]
    assert np.mean(ordered) > 0.9, f"pairwise order accuracy {np.mean(ordered):.2f} on held-out captions"
    group_means = [scores[ranks == r].mean() for r in range(len(VERBS))]
    assert group_means == sorted(group_means), f"verb groups out of order: {group_means}"


def test_ranking_reward_is_the_normalised_thresholded_score_not_the_raw_one() -> None:
    model = RankingRewardModel(seed=0, threshold=-0.5)
    captions = [c for c, _ in _toy_captions()]
    assert model.rewards(captions).sum() == 0, "untrained: pays 0"
    model.add_preferences([("you opened the red door", "you dropped the red key", 1.0)] * 8)
    model.train_steps(30)
    raw = model.scores(captions)
    model.observe(raw)
    rewards = model.rewards(captions)  # normalised with the running statistics, then thresholded
    normalised = (raw - model.mean) / model.std
    expected = np.where(normalised < -0.5, 0.0, normalised)
    assert np.allclose(rewards, expected, atol=1e-4)
    assert not np.allclose(rewards, raw, atol=1e-3), "the released ONI code's bug returned the raw score"
    assert (rewards == 0).any() and (rewards > 0).any()


# -- the wrapper: unlabelled captions, the count decay, the oracle ----------------------------------------------


def _loop_env(n_cycles: int, beta: float, seed: int = 3) -> tuple[ONITeacher, list[dict[str, Any]]]:
    """One DoorKey episode: walk to the key, then pick it up and drop it ``n_cycles`` times."""
    teacher = ONITeacher(annotator="oracle", reward_model="retrieval", beta=beta, c_int=1.0)
    venv = teacher.wrap_vec_env(_seeded_vec_env("Curricula/DoorKey-5x5-v0", seed=seed))
    venv.reset()
    mg = venv.unwrapped.envs[0].unwrapped  # type: ignore[attr-defined]
    actions = _path_actions(mg, _find(mg, "key"), stand_on=False) + [PICKUP, DROP] * n_cycles
    infos = []
    for action in actions:
        _, _, dones, step_infos = venv.step(np.array([action]))
        assert not dones[0], "the loop fits in one episode"
        infos.append(step_infos[0])
    return teacher, infos


def test_count_decay_bounds_a_pickup_drop_loop() -> None:
    teacher, infos = _loop_env(n_cycles=100, beta=3.0)
    paid = sum(info["oni_r_int"] for info in infos)
    assert teacher.labels == {"you picked up the yellow key": 1, "you dropped the yellow key": 0}
    assert 0 < paid <= ZETA_3, f"one helpful caption paid {paid} in one episode"
    # without the decay the same loop farms the reward: one per pick-up once labelled
    _undecayed, infos = _loop_env(n_cycles=100, beta=0.0)
    assert sum(info["oni_r_int"] for info in infos) >= 99


def test_unlabelled_captions_pay_zero() -> None:
    class Silent(NoisyOracleAnnotator):
        """An annotator that never answers (a server that is down)."""

        def submit(self, items: Any) -> None:
            self._counts["submitted"] += len(list(items))

    teacher = ONITeacher(annotator="oracle", reward_model="retrieval", c_int=1.0)
    teacher.annotator = Silent()
    venv = teacher.wrap_vec_env(_seeded_vec_env("Curricula/DoorKey-5x5-v0", n_envs=4))
    venv.reset()
    rng = np.random.default_rng(0)
    captioned = 0
    for _ in range(300):
        _obs, rewards, _dones, infos = venv.step(rng.integers(0, 6, size=4))
        captioned += sum(bool(info["caption"]) for info in infos)
        assert all(info["oni_r_int"] == 0.0 for info in infos)
        assert np.allclose(rewards, [info["oni_r_ext"] for info in infos])
    assert captioned > 20 and teacher.annotator.stats()["submitted"] >= captioned
    scalars = teacher.scalars()
    assert scalars["label_coverage"] == 0.0 and scalars["labels"] == 0 and scalars["r_int_mean"] == 0.0


def test_oracle_labels_arrive_next_step_and_flips_are_per_caption() -> None:
    items = [label_item(f"event {i}", helpful=bool(i % 2)) for i in range(400)]
    honest = NoisyOracleAnnotator(flip_prob=0.0)
    honest.submit(items)
    assert honest.poll() == {f"event {i}": HELPFUL if i % 2 else UNHELPFUL for i in range(400)}
    noisy = NoisyOracleAnnotator(flip_prob=0.25, seed=1)
    noisy.submit(items)
    labels = noisy.poll()
    wrong = sum(labels[f"event {i}"] != (HELPFUL if i % 2 else UNHELPFUL) for i in range(400))
    assert 60 < wrong < 140 and noisy.stats()["flipped"] == wrong
    again = NoisyOracleAnnotator(flip_prob=0.25, seed=1)
    again.submit(reversed(items))  # the order captions are met in does not change their labels
    assert again.poll() == labels
    prefs = NoisyOracleAnnotator()
    prefs.submit([preference_item("a", "b", (True, False)), preference_item("c", "d", (False, False))])
    assert prefs.poll() == {("a", "b"): "1", ("c", "d"): "None"}
    prefs.submit([label_item("no truth")])
    assert prefs.stats()["failed"] == 1 and prefs.poll() == {}


# -- state, composition --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["classification", "ranking"])
def test_state_round_trip(kind: str, tmp_path: Path) -> None:
    teacher = ONITeacher(
        annotator="oracle",
        reward_model=kind,
        seed=4,
        steps_per_label_batch=4,
        model_kwargs={"batch_size": 16},
        ranking_sample_every=1,
    )
    venv = teacher.wrap_vec_env(_seeded_vec_env("Curricula/DoorKey-5x5-v0", n_envs=2))
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(400):
        venv.step(rng.integers(0, 6, size=2))
    assert teacher.model.gradient_steps > 0
    saved = save_state(tmp_path / "oni.npz", teacher.state_dict())
    fresh = make_reward_teacher("oni", seed=99, annotator="oracle", reward_model=kind, model_kwargs={"batch_size": 16})
    assert isinstance(fresh, ONITeacher)
    fresh.load_state_dict(load_state(saved))
    assert fresh.labels == teacher.labels and fresh.captions_seen == teacher.captions_seen
    assert fresh.totals == teacher.totals and fresh.pairs_asked == teacher.pairs_asked
    assert fresh.model.gradient_steps == teacher.model.gradient_steps
    captions = sorted(teacher.captions_seen)
    if kind == "ranking":
        assert isinstance(fresh.model, RankingRewardModel) and isinstance(teacher.model, RankingRewardModel)
        assert fresh.model.pairs == teacher.model.pairs and fresh.ranked_captions == teacher.ranked_captions
        assert np.allclose(fresh.model.scores(captions), teacher.model.scores(captions))
    else:
        assert isinstance(fresh.model, ClassificationRewardModel) and isinstance(
            teacher.model, ClassificationRewardModel
        )
        assert np.allclose(fresh.model.probabilities(captions), teacher.model.probabilities(captions))
    # the optimiser and minibatch RNG came back too: training continues identically
    assert fresh.model.train_steps(3) == pytest.approx(teacher.model.train_steps(3), rel=1e-5)
    assert fresh.state_dict()["episode_counts"] == teacher.state_dict()["episode_counts"]


def test_composes_with_a_task_teacher_and_keeps_the_env_return() -> None:
    """PPO + a task teacher + ONI: the shaped reward reaches PPO, the task teacher hears the env's own return."""
    oni = make_reward_teacher("oni", seed=0, annotator="oracle", reward_model="retrieval", c_int=0.5)
    assert isinstance(oni, ONITeacher)
    base = _seeded_vec_env("Curricula/DoorKey-5x5-v0", n_envs=2)
    venv = oni.wrap_vec_env(base)
    assert isinstance(venv, ONIVecEnv)
    curriculum = CurriculumCallback(
        RandomTeacher(task_space_of(base), seed=0), keep_results=True, reward_teachers=[oni]
    )

    class Ledger(BaseCallback):
        """Sums each env's own reward (``oni_r_ext``) and the shaped one, per episode."""

        def __init__(self) -> None:
            super().__init__()
            self.ext = np.zeros(2)
            self.shaped = np.zeros(2)
            self.episodes: list[tuple[float, float, float]] = []

        def _on_step(self) -> bool:
            for i, info in enumerate(self.locals["infos"]):
                self.ext[i] += info["oni_r_ext"]
                self.shaped[i] += self.locals["rewards"][i]
                result = info.get("episode_result")
                if result is not None:
                    self.episodes.append((result.episode_return, self.ext[i], self.shaped[i]))
                    self.ext[i] = self.shaped[i] = 0.0
            return True

    ledger = Ledger()
    model = make_student("ppo", venv, seed=0, policy="MlpPolicy", n_steps=64, batch_size=64, n_epochs=1)
    model.learn(1024, callback=[curriculum, ledger])
    assert curriculum.results and len(ledger.episodes) == len(curriculum.results)
    for episode_return, ext, _ in ledger.episodes:
        assert episode_return == pytest.approx(ext)
    assert any(shaped > ext + 1e-6 for _, ext, shaped in ledger.episodes), "ONI paid something"
    scalars = oni.scalars()
    assert scalars["labels"] > 0 and scalars["annotator_labelled"] == scalars["labels"]
    assert 0 < scalars["label_coverage_total"] <= 1 and scalars["unique_captions"] >= scalars["labels"]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="reward_model"):
        ONITeacher(reward_model="nope")
    with pytest.raises(ValueError, match="annotator"):
        ONITeacher(annotator="human")
    with pytest.raises(ValueError, match="flip_prob"):
        NoisyOracleAnnotator(flip_prob=1.5)
    with pytest.raises(ValueError, match="unknown llm config keys"):
        ONITeacher(llm={"base_url": "http://127.0.0.1:1/v1", "temperature": 2})


def test_example_runs_each_variant_end_to_end() -> None:
    """``examples/oni_minigrid.py`` as a user starts it, tiny budget: PPO and PPO + ONI (trained reward models)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable,
            str(root / "examples" / "oni_minigrid.py"),
            "--timesteps",
            "256",
            "--n-envs",
            "2",
            "--variants",
            "ppo",
            "oni-classification",
            "oni-ranking",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary["success"]) == {"ppo", "oni-classification", "oni-ranking"}
    runs = {run["variant"]: run for run in summary["runs"]}
    assert "oni" not in runs["ppo"] and all(run["timesteps"] >= 256 and run["episodes"] >= 0 for run in runs.values())
    assert runs["oni-classification"]["oni"]["labels"] > 0
    assert runs["oni-ranking"]["oni"]["unique_captions"] > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (the student's GPU)")
def test_models_train_and_resume_on_cuda(tmp_path: Path) -> None:
    train, held_out = _split(np.random.default_rng(1))
    model = ClassificationRewardModel(seed=0, device="cuda")
    model.add_labels({c: int(rank >= 3) for c, rank in train})
    model.train_steps(40)
    assert np.mean(model.rewards([c for c, _ in held_out]) == np.array([r >= 3 for _, r in held_out])) > 0.9
    fresh = ClassificationRewardModel(seed=5, device="cuda")
    fresh.load_state_dict(load_state(save_state(tmp_path / "m.npz", model.state_dict())))
    assert fresh.train_steps(3) == pytest.approx(model.train_steps(3), rel=1e-4)


def test_unreachable_llm_and_a_failed_restart_degrade_to_zero_reward(monkeypatch: pytest.MonkeyPatch) -> None:
    """No server at the address: requests fail (counted), captions pay 0; an annotator that cannot be restarted
    after close() (training continued) is replaced by one that labels nothing, with a warning, not a crash."""
    teacher = ONITeacher(
        annotator="llm",
        reward_model="retrieval",
        llm={"base_url": "http://127.0.0.1:9/v1", "max_retries": 0, "timeout_s": 1.0, "breaker_threshold": 2},
    )
    venv = teacher.wrap_vec_env(_seeded_vec_env("Curricula/DoorKey-5x5-v0", n_envs=2))
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(200):
        *_, infos = venv.step(rng.integers(0, 6, size=2))
        assert all(info["oni_r_int"] == 0.0 for info in infos)
    assert teacher.annotator is not None and isinstance(teacher.annotator, object)
    teacher.annotator.wait_idle(10)  # type: ignore[attr-defined]
    teacher.close()
    scalars = teacher.scalars()
    assert scalars["annotator_failed"] > 0 and scalars["labels"] == 0
    assert scalars["llm_connection_errors"] + scalars["llm_breaker_rejections"] > 0
    assert "labelled nothing" in teacher.end_of_training_warnings()[0]

    def broken() -> None:
        raise RuntimeError("server did not start")

    monkeypatch.setattr(teacher, "start_annotator", broken)
    for _ in range(20):
        *_, infos = venv.step(rng.integers(0, 6, size=2))
        assert all(info["oni_r_int"] == 0.0 for info in infos)
    assert teacher.annotator_restarts == 1 and teacher.scalars()["annotator_restarts"] == 1
    teacher.close()


def test_experiment_config_builds_oni_beside_a_task_teacher() -> None:
    from curricula.experiment import ExperimentConfig, build

    config = ExperimentConfig(
        env_id="Curricula/DoorKey-5x5-v0",
        teacher="random",
        test_set="uniform:2",
        n_envs=2,
        student_kwargs={"n_steps": 64, "policy": "MlpPolicy"},
        reward_teachers=[{"name": "oni", "kwargs": {"annotator": "oracle", "reward_model": "classification"}}],
    )
    vec_env, model, _, curriculum = build(config)
    try:
        assert isinstance(vec_env, ONIVecEnv) and [t.name for t in curriculum.reward_teachers] == ["oni"]
        model.learn(256, callback=curriculum)
        oni = curriculum.reward_teachers[0]
        assert isinstance(oni, ONITeacher) and oni.totals["env_steps"] >= 256
    finally:
        vec_env.close()
