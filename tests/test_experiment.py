"""The composition root: config semantics (``*_freq=0``), user imports, teacher close, end-of-training warnings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from curricula import CurriculumWarning, EpisodeResult, Task
from curricula.experiment import ExperimentConfig, run_experiment
from curricula.teacher import register_teacher, registered_teachers
from teachers.random import RandomTeacher


@register_teacher("test_never_fits")
class NeverFitsTeacher(RandomTeacher):
    """A random teacher that records close() calls and always has one end-of-training warning."""

    closed = 0

    def end_of_training_warnings(self) -> list[str]:
        return ["test_never_fits fitted nothing"]

    def close(self) -> None:
        type(self).closed += 1


def _config(tmp_path: Path, **overrides: Any) -> ExperimentConfig:
    base: dict[str, Any] = dict(
        env_id="Curricula/Toy-v0",
        total_timesteps=300,
        n_envs=2,
        test_set="grid:2",
        run_root=str(tmp_path),
        run_name="run",
        student_kwargs={"n_steps": 64},
    )
    return ExperimentConfig.from_dict({**base, **overrides})


def test_zero_freqs_evaluate_and_checkpoint_exactly_once_at_the_end(tmp_path: Path) -> None:
    # 300 steps with 2 envs x 64 steps per rollout run to 384 steps: past the old "total + 1" trigger
    result = run_experiment(_config(tmp_path, eval_freq=0, checkpoint_freq=0))
    assert result.env_steps == 384
    evaluations = (result.run_dir / "eval.jsonl").read_text().splitlines()
    assert [json.loads(line)["timesteps"] for line in evaluations] == [384]
    checkpoints = sorted(p.name for p in (result.run_dir / "checkpoints").iterdir() if p.is_dir())
    assert checkpoints == ["step_000000000384"]


def test_positive_freqs_still_fire_during_training(tmp_path: Path) -> None:
    result = run_experiment(_config(tmp_path, eval_freq=128, checkpoint_freq=256))
    steps = [json.loads(line)["timesteps"] for line in (result.run_dir / "eval.jsonl").read_text().splitlines()]
    assert steps == [128, 256, 384, 384]  # three periodic evaluations, then the final one
    checkpoints = sorted(p.name for p in (result.run_dir / "checkpoints").iterdir() if p.is_dir())
    assert checkpoints == ["step_000000000256", "step_000000000384"]


def test_training_end_closes_the_teacher_and_warns_once(tmp_path: Path) -> None:
    NeverFitsTeacher.closed = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_experiment(_config(tmp_path, teacher="test_never_fits"))
    messages = [str(w.message) for w in caught if issubclass(w.category, CurriculumWarning)]
    assert messages == ["test_never_fits fitted nothing"]
    assert NeverFitsTeacher.closed >= 1


def test_imports_key_is_validated() -> None:
    with pytest.raises(ValueError, match="imports: input should be a valid list"):
        ExperimentConfig.from_dict({"imports": "my_envs"})


def test_user_teacher_registered_in_a_test_module_is_visible() -> None:
    assert registered_teachers()["test_never_fits"] is NeverFitsTeacher
    teacher = NeverFitsTeacher(__import__("envs").toy_space(), seed=0)
    task = teacher.sample()
    teacher.update(EpisodeResult(task=task, episode_return=0.0, length=1, success=None))
    assert isinstance(task, Task) and teacher.episodes_seen == 1


def test_batched_vec_env_trains_on_the_batched_family_and_evaluates_on_minigrid(tmp_path: Path) -> None:
    config = _config(
        tmp_path, env_id="Curricula/ObstacleGrid-v0", vec_env="batched", teacher="alp_gmm", total_timesteps=256
    )
    result = run_experiment(config)
    assert result.env_steps == 256  # 2 envs x 64 steps x 2 rollouts
    evaluation = json.loads((result.run_dir / "eval.jsonl").read_text().splitlines()[-1])
    assert evaluation["timesteps"] == 256 and len(evaluation["successes"]) == 4  # grid:2 over size x obstacles
