"""Feature extractors for grid observations."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class MinigridCNN(BaseFeaturesExtractor):
    """Three 2x2 convolutions for MiniGrid's 7x7x3 symbolic view (SB3's NatureCNN needs at least 36x36).

    Adapted from the architecture in MiniGrid's training guide (after lcswillems/rl-starter-files). The inputs are
    categorical indices (object, colour, state), so the policy should be built with ``normalize_images=False``.

    Subgoal-conditioned students (the LLM subgoal teacher's ``observe=True``) see a Dict ``{"image": Box,
    "subgoal": Box(d,)}``: the subgoal vector is concatenated after the convolutional features, before the linear
    layer, as in Words as Beacons' model. Build such a policy as ``"MultiInputPolicy"`` with this extractor.

    :param observation_space: an image Box, channels last (H, W, C) or first (C, H, W); SB3 transposes uint8
        channels-last images to channels-first (``VecTransposeImage``) before the policy sees them; or a Dict of
        such an ``"image"`` and a flat ``"subgoal"`` Box
    :param features_dim: size of the output features
    """

    def __init__(self, observation_space: gym.spaces.Box | gym.spaces.Dict, features_dim: int = 64) -> None:
        super().__init__(observation_space, features_dim)
        self.subgoal_dim = 0
        image_space: gym.Space[Any] = observation_space
        if isinstance(observation_space, gym.spaces.Dict):
            if set(observation_space.spaces) != {"image", "subgoal"}:
                raise ValueError(f"MinigridCNN takes a Dict of 'image' and 'subgoal', got {list(observation_space)}")
            image_space = observation_space["image"]
            subgoal_space = observation_space["subgoal"]
            if not isinstance(subgoal_space, gym.spaces.Box) or len(subgoal_space.shape) != 1:
                raise ValueError(f"the 'subgoal' observation must be a flat Box, got {subgoal_space}")
            self.subgoal_dim = int(subgoal_space.shape[0])
        if not isinstance(image_space, gym.spaces.Box) or len(image_space.shape) != 3:
            raise ValueError(f"MinigridCNN needs 3-D image observations, got {image_space}")
        self.channels_first = is_image_space_channels_first(image_space)
        channels = image_space.shape[0] if self.channels_first else image_space.shape[2]
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
            n_flat = self.cnn(self._to_nchw(torch.as_tensor(image_space.sample()[None]).float())).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flat + self.subgoal_dim, features_dim), nn.ReLU())

    def _to_nchw(self, observations: torch.Tensor) -> torch.Tensor:
        return observations if self.channels_first else observations.permute(0, 3, 1, 2)

    def forward(self, observations: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        if isinstance(observations, dict):
            conv = self.cnn(self._to_nchw(observations["image"]))
            return self.linear(torch.cat([conv, observations["subgoal"].float()], dim=1))
        return self.linear(self.cnn(self._to_nchw(observations)))
