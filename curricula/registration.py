"""Public registration of task-aware environments (built-in or a user's own).

:func:`register_env` is ``gymnasium.register`` plus a record in Curricula's registry of task-aware ids, which
the command line lists (``curricula envs``) and the env contract tests run on. A user's module calls it at import
time, exactly as the built-in :mod:`envs` package does::

    from curricula import register_env

    register_env("Newcomer/TaskCartPole-v0", "my_envs:TaskCartPole", max_episode_steps=500)

Nothing here imports Stable-Baselines3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym

__all__ = ["register_env", "registered_envs"]

#: task-aware env ids, in registration order
_TASK_ENV_IDS: dict[str, None] = {}


def register_env(
    env_id: str,
    entry_point: str | Callable[..., gym.Env[Any, Any]],
    *,
    kwargs: Mapping[str, Any] | None = None,
    max_episode_steps: int | None = None,
    **register_kwargs: Any,
) -> None:
    """Register a task-aware env under ``env_id`` with Gymnasium and with Curricula.

    The env must follow :mod:`curricula.env_api`: a ``task_space`` attribute on the unwrapped env, tasks read
    from ``reset(options={"task": ...})`` with :func:`~curricula.env_api.read_task`. Registering the same id
    again with the same entry point and arguments is a no-op (modules may be imported twice, e.g. by a
    subprocess vector env); registering it with different ones replaces the Gymnasium spec, as
    ``gymnasium.register`` does (with its warning).

    :param env_id: a Gymnasium id, ``[namespace/]name-vN``
    :param entry_point: the env class or factory, or its ``"module:attr"`` path (imported at ``gym.make``)
    :param kwargs: keyword arguments the entry point is called with
    :param max_episode_steps: wrap the env in Gymnasium's ``TimeLimit``
    :param register_kwargs: any other ``gymnasium.register`` argument (``order_enforce``,
        ``disable_env_checker``, ``additional_wrappers``, ...)
    """
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a non-empty string, got {env_id!r}")
    spec_kwargs = dict(kwargs or {})
    existing = gym.registry.get(env_id)
    same = (
        existing is not None
        and existing.entry_point == entry_point
        and existing.kwargs == spec_kwargs
        and existing.max_episode_steps == max_episode_steps
    )
    if not same:
        gym.register(
            id=env_id,
            entry_point=entry_point,
            kwargs=spec_kwargs,
            max_episode_steps=max_episode_steps,
            **register_kwargs,
        )
    _TASK_ENV_IDS[env_id] = None


def registered_envs() -> list[str]:
    """Every task-aware env id registered with :func:`register_env` (built-in and user ids), in order.

    Built-in ids appear once :mod:`envs` is imported; a user's once their module is.
    """
    return list(_TASK_ENV_IDS)
