"""Composition: one task teacher and reward teachers in one run, through annotations and wrappers."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper

from curricula import CurriculumCallback, EpisodeResult, Task
from curricula.checkpoint import load_checkpoint, save_checkpoint
from curricula.reward_teacher import (
    RewardTeacher,
    make_reward_teacher,
    register_reward_teacher,
    wrap_task_env,
    wrap_vec_env,
)
from curricula.testing import COUNTING_SPACE, make_counting_task_env
from teachers.random import RandomTeacher

FINAL_BONUS = 10.0
STEP_BONUS = 0.5


class FinalBonus(gym.Wrapper[Any, Any, Any, Any]):
    """Env-worker part: pays FINAL_BONUS at the end of every episode whose task carries a 'bonus' annotation."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.annotations_seen: list[dict[str, Any]] = []

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        task = self.env.get_wrapper_attr("current_task")
        if (terminated or truncated) and task is not None and task.annotations.get("bonus"):
            self.annotations_seen.append(dict(task.annotations))
            reward = float(reward) + FINAL_BONUS
        return obs, float(reward), terminated, truncated, info


class StepBonus(VecEnvWrapper):
    """Learner part: adds STEP_BONUS to every env's reward, in one batch."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.paid = 0.0

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        obs, rewards, dones, infos = self.venv.step_wait()
        self.paid += STEP_BONUS * len(rewards)
        return obs, rewards + STEP_BONUS, dones, infos


@register_reward_teacher("test_bonus")
class BonusTeacher(RewardTeacher):
    """Annotates every other task with a bonus flag; uses all three hooks."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.flagged = 0
        self.heard: list[EpisodeResult] = []

    def _annotations(self, task: Task) -> dict[str, Any]:
        flag = bool(self.rng.random() < 0.5)
        self.flagged += flag
        return {"bonus": flag}

    def env_wrapper(self) -> Any:
        return FinalBonus

    def wrap_vec_env(self, venv: VecEnv) -> VecEnv:
        return StepBonus(venv)

    def _update(self, result: EpisodeResult) -> None:
        self.heard.append(result)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "flagged": self.flagged}

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.flagged = int(state["flagged"])


def _train(tmp_path: Path | None = None) -> tuple[PPO, CurriculumCallback, BonusTeacher, StepBonus]:
    reward_teacher = make_reward_teacher("test_bonus", seed=3)
    assert isinstance(reward_teacher, BonusTeacher)
    env_fn = functools.partial(_wrapped_env, reward_teacher)
    venv = wrap_vec_env(DummyVecEnv([env_fn] * 2), [reward_teacher])
    assert isinstance(venv, StepBonus)
    curriculum = CurriculumCallback(
        RandomTeacher(COUNTING_SPACE, seed=0), keep_results=True, reward_teachers=[reward_teacher]
    )
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu", policy_kwargs={"net_arch": [8]})
    model.learn(256, callback=curriculum)
    return model, curriculum, reward_teacher, venv


def _wrapped_env(reward_teacher: RewardTeacher) -> gym.Env[Any, Any]:
    return wrap_task_env(make_counting_task_env(), [reward_teacher])


def test_annotations_reach_the_env_and_shaping_stays_out_of_the_results() -> None:
    model, curriculum, reward_teacher, venv = _train()
    results = curriculum.results
    assert results and reward_teacher.heard == results  # every result, in the order the task teacher heard it
    for result in results:
        # CountingEnv pays 1 per step, so the env's own return equals the episode length: no bonus in it
        assert result.episode_return == result.length == result.task.params["length"]
        assert "bonus" in result.task.annotations
    flagged = [r for r in results if r.task.annotations["bonus"]]
    assert 0 < len(flagged) < len(results)
    seen = [a for env in venv.venv.envs for a in env.annotations_seen]  # type: ignore[attr-defined]
    assert len(seen) == len(flagged)
    assert venv.paid == STEP_BONUS * model.num_timesteps
    assert reward_teacher.tasks_annotated == curriculum.teacher.tasks_sampled


def test_annotate_keeps_the_task_teachers_choice_and_refuses_to_overwrite() -> None:
    teacher = BonusTeacher(seed=0)
    task = Task(id=7, params={"length": 2, "payload": 0.5}, annotations={"other": 1})
    annotated = teacher.annotate(task)
    assert (annotated.id, annotated.params, annotated.annotations["other"]) == (7, task.params, 1)
    with pytest.raises(ValueError, match="overwrite"):
        teacher.annotate(annotated)


def test_reward_teacher_state_is_checkpointed_and_restored(tmp_path: Path) -> None:
    model, curriculum, reward_teacher, venv = _train()
    save_checkpoint(tmp_path, model, curriculum.teacher, curriculum)
    fresh = BonusTeacher(seed=99)
    ckpt = load_checkpoint(tmp_path, PPO, venv, RandomTeacher(COUNTING_SPACE, seed=5), reward_teachers=[fresh])
    assert fresh.state_dict().keys() == reward_teacher.state_dict().keys()
    assert fresh.flagged == reward_teacher.flagged and fresh.tasks_annotated == reward_teacher.tasks_annotated
    assert [fresh.rng.random() for _ in range(3)] == [reward_teacher.rng.random() for _ in range(3)]
    assert ckpt.curriculum.reward_teachers == [fresh]
    with pytest.raises(ValueError, match="reward teachers"):
        load_checkpoint(tmp_path, PPO, venv, RandomTeacher(COUNTING_SPACE, seed=5))


def test_unknown_reward_teacher_lists_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="test_bonus"):
        make_reward_teacher("nope")
    assert np.isfinite(list(BonusTeacher().scalars().values())).all()


def test_experiment_config_composes_reward_teachers(tmp_path: Path) -> None:
    from curricula.experiment import ExperimentConfig, build, run_experiment

    config = ExperimentConfig(
        env_id="Curricula/Toy-v0",
        total_timesteps=256,
        n_envs=2,
        test_set="grid:2",
        run_root=str(tmp_path),
        run_name="composed",
        student_kwargs={"n_steps": 64},
        reward_teachers=[{"name": "test_bonus"}],
    )
    vec_env, _, _, curriculum = build(config)
    assert isinstance(vec_env, StepBonus) and [t.name for t in curriculum.reward_teachers] == ["test_bonus"]
    vec_env.close()
    result = run_experiment(config)
    assert (result.run_dir / "checkpoints").exists()
    latest = json.loads((result.run_dir / "checkpoints" / "latest.json").read_text())["path"]
    assert (result.run_dir / "checkpoints" / latest / "reward_test_bonus.npz").is_file()
    with pytest.raises(ValueError, match=r"reward_teachers\[0\]: unknown reward teacher 'nope'"):
        build(ExperimentConfig(env_id="Curricula/Toy-v0", reward_teachers=[{"name": "nope"}]))


def test_subgoals_and_oni_share_one_run_with_a_task_teacher(tmp_path: Path) -> None:
    # the two built-in reward teachers composed with PLR through the config, as a user would
    from curricula.experiment import ExperimentConfig, run_experiment

    env_id = "Curricula/DoorKey-5x5-v0"
    config = ExperimentConfig(
        env_id=env_id,
        teacher="plr",
        teacher_kwargs={"preset": "cpu"},
        total_timesteps=512,
        n_envs=2,
        test_set="uniform:2",
        run_root=str(tmp_path),
        run_name="both",
        student_kwargs={"n_steps": 128, "policy": "MlpPolicy"},
        reward_teachers=[
            {"name": "subgoals", "kwargs": {"env_id": env_id, "source": "oracle"}},
            {"name": "oni", "kwargs": {"annotator": "oracle", "device": "cpu"}},
        ],
    )
    result = run_experiment(config)
    episodes = [json.loads(line) for line in (result.run_dir / "episodes.jsonl").read_text().splitlines()]
    assert episodes and all("subgoals" in e["task"]["annotations"] for e in episodes)
    # what PLR heard is the env's own return: MiniGrid pays in [0, 1], shaping and intrinsic reward come on top
    assert all(0.0 <= e["return"] <= 1.0 for e in episodes)
    progress = (result.run_dir / "logs" / "progress.csv").read_text().splitlines()[0]
    assert "reward/subgoals/tasks_annotated" in progress and "reward/oni/" in progress
    latest = json.loads((result.run_dir / "checkpoints" / "latest.json").read_text())["path"]
    saved = {p.name for p in (result.run_dir / "checkpoints" / latest).iterdir()}
    assert {"reward_subgoals.npz", "reward_oni.npz", "teacher.npz"} <= saved
