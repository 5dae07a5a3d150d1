from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401
from agents import MinigridCNN, choose_device, make_student
from curricula import TaskEnv
from curricula.testing import make_counting_task_env


def _grid_env():
    return TaskEnv(gym.make("Curricula/ObstacleGrid-v0"))


@pytest.mark.parametrize(("algo", "cls"), [("ppo", PPO), ("a2c", A2C), ("dqn", DQN)])
def test_grid_students_learn_a_few_steps(algo: str, cls: type) -> None:
    model = make_student(algo, DummyVecEnv([_grid_env, _grid_env]), seed=0)
    assert isinstance(model, cls)
    assert isinstance(model.policy.features_extractor, MinigridCNN) or algo == "dqn"
    model.learn(256)
    assert str(model.device) == "cpu" or torch.cuda.is_available()


def test_sac_on_continuous_vector_env() -> None:
    env = gym.make("Pendulum-v1")
    model = make_student("sac", env, learning_starts=10, buffer_size=1000)
    assert isinstance(model, SAC)
    model.learn(32)


def test_mlp_on_grid_and_batch_clamped() -> None:
    venv = DummyVecEnv([functools.partial(make_counting_task_env, False)])
    model = make_student("ppo", venv, n_steps=16)
    assert model.batch_size == 16
    grid = make_student("ppo", DummyVecEnv([_grid_env]), policy="MlpPolicy")
    assert grid.policy.normalize_images is False


def test_device_policy() -> None:
    assert choose_device("mlp", 64) == "cpu"
    assert choose_device("cnn", 64, requested="cpu") == "cpu"
    if not torch.cuda.is_available():
        assert choose_device("cnn", 64) == "cpu"
    with pytest.raises(ValueError, match="policy_kind"):
        choose_device("rnn", 64)


def test_bad_algo_and_space() -> None:
    with pytest.raises(ValueError, match="algo must be one of"):
        make_student("trpo", _grid_env())
    with pytest.raises(ValueError, match="suit"):
        make_student("sac", _grid_env())
    with pytest.raises(ValueError, match="observation space"):
        make_student("ppo", gym.make("FrozenLake-v1"))


def test_cnn_handles_both_layouts() -> None:
    last = gym.spaces.Box(0, 255, (7, 7, 3), np.uint8)
    first = gym.spaces.Box(0, 255, (3, 7, 7), np.uint8)
    x = torch.zeros((2, 7, 7, 3))
    assert MinigridCNN(last)(x).shape == (2, 64)
    assert MinigridCNN(first)(x.permute(0, 3, 1, 2)).shape == (2, 64)
