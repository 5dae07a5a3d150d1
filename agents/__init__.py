"""Students: Stable-Baselines3 agents with per-family defaults, extractors and the device policy."""

from agents.device import choose_device, limit_threads
from agents.extractors import MinigridCNN
from agents.factory import ALGORITHMS, make_student, observation_family
from agents.reference import reference_pool  # registers the reference agents of regret-based teachers

__all__ = [
    "ALGORITHMS",
    "MinigridCNN",
    "choose_device",
    "limit_threads",
    "make_student",
    "observation_family",
    "reference_pool",
]
