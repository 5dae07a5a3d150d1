"""What a task-aware environment implements, and the helpers it uses to do so.

A *task-aware* env is a Gymnasium env that:

1. has a ``task_space`` attribute (a :class:`~curricula.spaces.TaskSpace`) in exactly one place of its wrapper
   stack: the unwrapped env (or, for an env built by wrapping an existing one, the wrapper that adds the tasks),
   so that ``env.get_wrapper_attr("task_space")`` and :func:`task_space_of` find it through any wrapper;
2. reads its task in ``reset`` with :func:`read_task`: ``options["task"]`` (a :class:`~curricula.task.Task`
   or its JSON dict) is validated against ``task_space`` and a bad one raises
   :class:`~curricula.spaces.TaskSpaceError` naming the field, the value and the allowed bounds or values;
3. without a task, plays **a uniform task drawn from its own seeded RNG** (``self.np_random``; a level space
   draws from its generator), so ``reset(seed=s)`` without options is reproducible and every episode plays a
   point of the space. Seed the RNG (``super().reset(seed=seed)``) *before* calling :func:`read_task`;
4. if it defines success, sets ``info["is_success"]`` (a ``bool``) on the last step of each episode, and only
   there. An env without a success rule sets nothing: success then comes from a ``success_threshold`` given to
   :class:`~curricula.wrappers.TaskEnv` or to :func:`~curricula.evaluation.evaluate`, never from a default;
5. is registered with :func:`curricula.registration.register_env`.

Nothing here imports Stable-Baselines3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from curricula.spaces import TaskSpace
from curricula.task import Task, as_task

__all__ = ["check_task", "read_task", "task_space_of"]


def check_task(task: Task | Mapping[str, Any], task_space: TaskSpace) -> Task:
    """A :class:`Task` (or its JSON dict) as a ``Task`` whose point is valid in ``task_space``.

    :param task: the task or its JSON form
    :param task_space: the space it must belong to
    :raises TaskSpaceError: the task misses its params/level, or they lie outside the space
    :raises TypeError: ``task`` is neither a Task nor a mapping
    """
    checked = as_task(task)
    task_space.point_of(checked)
    return checked


def read_task(options: Mapping[str, Any] | None, task_space: TaskSpace, rng: np.random.Generator) -> dict[str, Any]:
    """The point of ``task_space`` that this episode plays: call it from a task-aware env's ``reset``.

    :param options: the ``options`` passed to ``reset``; ``options["task"]`` is a Task or its JSON dict
    :param task_space: the env's task space
    :param rng: the env's ``np_random``, already seeded by this reset; an episode without a task draws its
        task from it (uniform over a parameter space, the generator of a level space)
    :return: a copy of the task's ``params`` (parameter space) or ``level`` (level space), validated
    :raises TaskSpaceError: the task does not belong to ``task_space``
    """
    task = None if options is None else options.get("task")
    if task is None:
        return task_space.sample(rng)
    return dict(task_space.point_of(as_task(task)))


def task_space_of(env_or_id: str | gym.Env[Any, Any] | Any) -> TaskSpace:
    """The task space of a task-aware env, however it is held.

    :param env_or_id: a registered env id (the env is made and closed), a (wrapped) ``gymnasium.Env``, a
        Stable-Baselines3 ``VecEnv`` (its first sub-env is asked) or a ``gymnasium.vector.VectorEnv``
    :raises TypeError: the env has no ``task_space`` attribute holding a :class:`TaskSpace`
    """
    if isinstance(env_or_id, str):
        env = gym.make(env_or_id)
        try:
            return task_space_of(env)
        finally:
            env.close()
    space: Any
    try:
        if isinstance(env_or_id, gym.vector.VectorEnv | gym.vector.VectorWrapper):
            # Sync and Async vector envs (and vector wrappers) resolve it through each sub-env's wrapper stack;
            # the VectorEnv base class itself declares no get_attr
            get_attr = getattr(env_or_id, "get_attr", None)
            if get_attr is None:
                raise TypeError(f"{type(env_or_id).__name__} has no get_attr to ask its sub-envs for task_space")
            space = get_attr("task_space")[0]
        elif isinstance(env_or_id, gym.Env):
            space = env_or_id.get_wrapper_attr("task_space")
        elif hasattr(env_or_id, "env_method") and hasattr(env_or_id, "get_attr"):
            # an SB3 VecEnv, duck-typed so that this module does not import SB3; its get_attr resolves the name
            # through the sub-env's wrapper stack (and a batched VecEnv answers it natively)
            space = env_or_id.get_attr("task_space", indices=[0])[0]
        else:
            raise TypeError(
                f"task_space_of takes an env id, a gymnasium Env, an SB3 VecEnv or a gymnasium VectorEnv; "
                f"got {type(env_or_id).__name__}"
            )
    except AttributeError as err:
        raise TypeError(f"{env_or_id} has no task_space attribute; is it a task-aware env? ({err})") from err
    if not isinstance(space, TaskSpace):
        raise TypeError(f"{env_or_id}'s task_space is a {type(space).__name__}, not a curricula TaskSpace")
    return space
