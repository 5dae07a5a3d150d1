"""Uniform random teacher: the domain-randomization baseline."""

from __future__ import annotations

from curricula.task import EpisodeResult, Task
from curricula.teacher import Teacher, register_teacher


@register_teacher("random")
class RandomTeacher(Teacher):
    """Samples every task uniformly from the space (integer dimensions uniform over their values; level
    spaces through their generator). It ignores feedback, so its samples depend on the seed only.

    :param space: any :class:`~curricula.spaces.ParameterSpace` or :class:`~curricula.spaces.LevelSpace`
    :param seed: RNG seed
    """

    def _sample(self) -> Task:
        return self._uniform_task()

    def _update(self, result: EpisodeResult) -> None:
        # Domain randomization does not adapt; results are counted by the base class only.
        return
