"""CurriculumPlotCallback: plots every N steps and at training end, from the teacher's history or the results."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the env ids
from curricula import CurriculumCallback, TaskEnv, make_teacher, task_space_of
from curricula.plotting import CurriculumPlotCallback


def _train(teacher_name: str, tmp_path: Path, keep_results: bool) -> CurriculumPlotCallback:
    env = DummyVecEnv([lambda: TaskEnv(gym.make("Curricula/Toy-v0"))] * 2)
    space = task_space_of(env)
    curriculum = CurriculumCallback(make_teacher(teacher_name, space, seed=0), keep_results=keep_results)
    plots = CurriculumPlotCallback(curriculum, space, tmp_path, every=128)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, device="cpu", policy_kwargs={"net_arch": [8]})
    model.learn(256, callback=[curriculum, plots])
    return plots


def test_random_teacher_plots_from_kept_results(tmp_path: Path) -> None:
    plots = _train("random", tmp_path, keep_results=True)
    names = sorted(p.name for p in plots.paths)
    assert len(names) == 3 and all(n.startswith("density_") for n in names)  # at 128, 256 and the end
    assert all(p.is_file() and p.stat().st_size > 1000 for p in plots.paths)


def test_mixture_teacher_also_draws_its_mixture(tmp_path: Path) -> None:
    plots = _train("alp_gmm", tmp_path, keep_results=False)  # ALP-GMM keeps its own history
    assert any(p.name.startswith("gmm_") for p in plots.paths)


def test_a_teacher_without_history_needs_kept_results(tmp_path: Path) -> None:
    env = TaskEnv(gym.make("Curricula/Toy-v0"))
    space = task_space_of(env)
    with pytest.raises(ValueError, match="keep_results=True"):
        CurriculumPlotCallback(CurriculumCallback(make_teacher("random", space)), space, tmp_path)
