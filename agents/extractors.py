"""Feature extractors for grid observations."""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class MinigridCNN(BaseFeaturesExtractor):
    """Three 2x2 convolutions for MiniGrid's 7x7x3 symbolic view (SB3's NatureCNN needs at least 36x36).

    Adapted from the architecture in MiniGrid's training guide (after lcswillems/rl-starter-files). The inputs are
    categorical indices (object, colour, state), so the policy should be built with ``normalize_images=False``.

    :param observation_space: an image Box, channels last (H, W, C) or first (C, H, W); SB3 transposes uint8
        channels-last images to channels-first (``VecTransposeImage``) before the policy sees them
    :param features_dim: size of the output features
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 64) -> None:
        super().__init__(observation_space, features_dim)
        if len(observation_space.shape) != 3:
            raise ValueError(f"MinigridCNN needs 3-D image observations, got shape {observation_space.shape}")
        self.channels_first = is_image_space_channels_first(observation_space)
        channels = observation_space.shape[0] if self.channels_first else observation_space.shape[2]
        self.cnn = nn.Sequential(
            nn.Conv2d(channels, 16, (2, 2)),
            nn.ReLU(),
            nn.Conv2d(16, 32, (2, 2)),
            nn.ReLU(),
            nn.Conv2d(32, 64, (2, 2)),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.cnn(self._to_nchw(torch.as_tensor(observation_space.sample()[None]).float())).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())

    def _to_nchw(self, observations: torch.Tensor) -> torch.Tensor:
        return observations if self.channels_first else observations.permute(0, 3, 1, 2)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(self._to_nchw(observations)))
