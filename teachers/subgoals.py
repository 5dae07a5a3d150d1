"""The LLM subgoal teacher (Words as Beacons, Ruiz-Gonzalez et al. 2024), online and composable.

A :class:`~curricula.reward_teacher.RewardTeacher` registered as ``"subgoals"``. The run's task teacher (Random,
ALP-GMM, PLR…) picks the level; this teacher annotates the chosen task with an ordered list of subgoals
(``task.annotations["subgoals"]``), and a wrapper in each env worker pays a one-shot bonus when the current subgoal
is reached. The parts:

- **Level text.** A describer env of the same id is reset on each new level and asked for its description
  (``describe_level()``, implemented by the env: MiniGrid knowledge lives in ``envs/``).
- **Prompt → constrained reply → strict parse → validation against the level.** The reply model of the subgoal
  kind (:class:`PositionPlan`, :class:`ObjectPlan`, :class:`LanguagePlan`) is sent as a JSON schema and parsed by
  :class:`~curricula.llm.ModelReply`; its validator checks every subgoal against the level (position inside the
  grid and not a wall; an object of that type, colour and state present). Anything else — malformed JSON, extra
  fields, wrong kind, unknown objects, impossible positions, huge or hostile bodies — is a counted rejection.
  Nothing the model writes is ever executed.
- **Asynchronous, cached.** Requests go through an :class:`~curricula.llm.Annotator` (dedup by level, bounded
  queue, background threads). :meth:`SubgoalTeacher.annotate` never waits: a level whose answer has not come yet
  (or whose replies were rejected ``max_attempts`` times) plays the configured **fallback** (``oracle``,
  ``surrogate`` or ``none``); answered levels are cached by level key, and the cache is part of the teacher's state.
- **Shaping** (:class:`SubgoalShaping`, env worker, above the ``TaskEnv``): ``alpha * (1 - k / T)`` once, when the
  *current* subgoal is reached (``k``: steps since the previous subgoal, ``T``: the episode's step limit); the
  pointer then advances. A subgoal reached out of order is marked and pays nothing. The bonus is reported in
  ``info["subgoal_bonus"]`` (and ``info["subgoal_return"]`` at episode end); ``EpisodeResult.episode_return``
  stays the env's own return because the ``TaskEnv`` below recorded it.
- **Conditioning** (:class:`SubgoalObservation`, optional): the observation becomes ``{"image", "subgoal"}`` with
  the current subgoal encoded as relative position (2), object code (3) or a hashed bag-of-words text embedding
  (:data:`TEXT_EMBEDDING_DIM`); :class:`agents.extractors.MinigridCNN` concatenates it after its convolutions.

The env must offer ``describe_level``, ``oracle_subgoals``, ``noisy_subgoals``, ``subgoal_snapshot``,
``subgoals_reached`` and ``agent_position`` (the seeded MiniGrid ids do, see ``envs/minigrid_text.py``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import threading
import time
import zlib
from collections.abc import Mapping
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from pydantic import Field, ValidationInfo, model_validator

from curricula.llm import Annotator, Item, LLMClient, LLMConfig, LLMOutputError, ModelReply, ReplyFormat, StrictModel
from curricula.reward_teacher import EnvWrapper, RewardTeacher, register_reward_teacher
from curricula.task import EpisodeResult, Task

logger = logging.getLogger(__name__)

SUBGOAL_KINDS: tuple[str, ...] = ("position", "object", "language")
SOURCES: tuple[str, ...] = ("llm", "oracle", "surrogate", "none")
FALLBACKS: tuple[str, ...] = ("oracle", "surrogate", "none")
COLORS = Literal["red", "green", "blue", "purple", "yellow", "grey"]
TARGET_TYPES = Literal["key", "ball", "box", "door", "goal"]
DOOR_STATES = Literal["open", "closed", "locked", "any"]
MAX_SUBGOALS = 8
MAX_REPLY_CHARS = 4_000
TEXT_EMBEDDING_DIM = 32
#: encoding of "no current subgoal" per kind (the paper's fallbacks: (0, 0), (-1, -1, -1), zeros)
ENCODING_DIMS: dict[str, int] = {"position": 2, "object": 3, "language": TEXT_EMBEDDING_DIM}
_REQUIRED_ENV_METHODS = ("describe_level", "oracle_subgoals", "noisy_subgoals", "subgoal_snapshot", "subgoals_reached")


# --------------------------------------------------------------------------------------------------------------
# Reply models: strict, closed, validated against the level (``context={"level": describe_level(), ...}``)


class PositionStep(StrictModel):
    """A cell to reach."""

    x: int = Field(ge=0, le=255)
    y: int = Field(ge=0, le=255)


class ObjectStep(StrictModel):
    """An object to interact with, named as the paper's representation subgoals are: type, colour (and door state)."""

    type: TARGET_TYPES
    color: COLORS
    state: DOOR_STATES = "any"


class LanguageStep(StrictModel):
    """An instruction ``"<verb> the <color> <type>"`` (built from closed vocabularies, so it cannot carry prose)."""

    verb: Literal["pick up", "open", "go to"]
    color: COLORS
    type: TARGET_TYPES


def _level_of(info: ValidationInfo) -> Mapping[str, Any]:
    context = info.context
    if not isinstance(context, Mapping) or not isinstance(context.get("level"), Mapping):
        raise ValueError("no level to validate against (context['level'] missing)")
    return context["level"]


class PositionPlan(StrictModel):
    """The reply of the ``position`` kind: ordered cells."""

    subgoals: list[PositionStep] = Field(min_length=1, max_length=MAX_SUBGOALS)

    @model_validator(mode="after")
    def _in_level(self, info: ValidationInfo) -> PositionPlan:
        resolve_plan(self, _level_of(info))
        return self


class ObjectPlan(StrictModel):
    """The reply of the ``object`` kind: ordered objects."""

    subgoals: list[ObjectStep] = Field(min_length=1, max_length=MAX_SUBGOALS)

    @model_validator(mode="after")
    def _in_level(self, info: ValidationInfo) -> ObjectPlan:
        resolve_plan(self, _level_of(info))
        return self


class LanguagePlan(StrictModel):
    """The reply of the ``language`` kind: ordered instructions."""

    subgoals: list[LanguageStep] = Field(min_length=1, max_length=MAX_SUBGOALS)

    @model_validator(mode="after")
    def _in_level(self, info: ValidationInfo) -> LanguagePlan:
        resolve_plan(self, _level_of(info))
        return self


PLAN_MODELS: dict[str, type[StrictModel]] = {"position": PositionPlan, "object": ObjectPlan, "language": LanguagePlan}
_VERB_FOR = {"key": "pick up", "ball": "pick up", "box": "open", "door": "open", "goal": "go to"}


def _cell_char(level: Mapping[str, Any], x: int, y: int) -> str:
    x0, y0 = level["map_origin"]
    rows = level["map"]
    if not (0 <= y - y0 < len(rows) and 0 <= x - x0 < len(rows[y - y0])):
        return " "
    return str(rows[y - y0][x - x0])


def _subgoal(kind: str, x: int, y: int, obj: Mapping[str, Any] | None) -> dict[str, Any]:
    if obj is None:
        return {"kind": kind, "x": x, "y": y, "code": [1, 0, 0], "object": "", "text": f"go to ({x}, {y})"}
    verb = _VERB_FOR.get(str(obj["type"]), "go to")
    return {
        "kind": kind,
        "x": int(obj["x"]),
        "y": int(obj["y"]),
        "code": [int(c) for c in obj["code"]],
        "object": str(obj["id"]),
        "text": f"{verb} the {obj['color']} {obj['type']}",
    }


def resolve_plan(plan: StrictModel, level: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The subgoal records a parsed reply stands for on ``level`` (a ``describe_level()`` record).

    Positions must lie inside the level and not on a wall. Objects must exist with that type, colour (and door
    state, unless ``any``); when several match (KeyCorridor repeats door colours), the one nearest to the previous
    subgoal (the agent, for the first) is meant. Language instructions must use the verb that the object needs.

    :param plan: a :class:`PositionPlan`, :class:`ObjectPlan` or :class:`LanguagePlan`
    :param level: the level's description
    :raises ValueError: naming the first subgoal that does not fit the level
    """
    kind = {PositionPlan: "position", ObjectPlan: "object", LanguagePlan: "language"}.get(type(plan))
    if kind is None:
        raise ValueError(f"not a plan: {type(plan).__name__}")
    by_cell = {(int(o["x"]), int(o["y"])): o for o in level["objects"]}
    last = (int(level["agent"]["x"]), int(level["agent"]["y"]))
    out: list[dict[str, Any]] = []
    for i, step in enumerate(plan.subgoals):  # type: ignore[attr-defined]
        if isinstance(step, PositionStep):
            if step.x >= int(level["width"]) or step.y >= int(level["height"]):
                raise ValueError(f"impossible position: subgoal {i} ({step.x}, {step.y}) is outside the grid")
            if _cell_char(level, step.x, step.y) in ("#", " "):
                raise ValueError(
                    f"impossible position: subgoal {i} ({step.x}, {step.y}) is a wall or outside the level"
                )
            record = _subgoal(kind, step.x, step.y, by_cell.get((step.x, step.y)))
        else:
            if isinstance(step, LanguageStep) and _VERB_FOR[step.type] != step.verb:
                raise ValueError(f"wrong verb: subgoal {i} cannot '{step.verb}' a {step.type}")
            state = step.state if isinstance(step, ObjectStep) else "any"
            matches = [
                o
                for o in level["objects"]
                if o["type"] == step.type
                and o["color"] == step.color
                and (state == "any" or (o["type"] == "door" and o["state"] == state))
            ]
            if not matches:
                raise ValueError(f"unknown object: subgoal {i} names a {step.color} {step.type} not in this level")
            nearest = min(matches, key=lambda o: abs(int(o["x"]) - last[0]) + abs(int(o["y"]) - last[1]))
            record = _subgoal(kind, int(nearest["x"]), int(nearest["y"]), nearest)
        out.append(record)
        last = (record["x"], record["y"])
    return out


class PlanReply(ReplyFormat[StrictModel]):
    """:class:`~curricula.llm.ModelReply` of one kind's plan, reporting each rejection (with its reason) to the
    ``on_reject(level_key, reason)`` callable of the request's context, so the teacher can count it per level."""

    def __init__(self, kind: str) -> None:
        self.inner: ModelReply[StrictModel] = ModelReply(PLAN_MODELS[kind], max_chars=MAX_REPLY_CHARS)
        self.constraint = self.inner.constraint

    def parse(self, text: str, context: Mapping[str, Any] | None = None) -> StrictModel:
        """The validated plan (see :func:`resolve_plan`).

        :param text: the reply text, untrusted
        :param context: ``{"level": describe_level(), "key": level key, "on_reject": callable}``
        """
        try:
            return self.inner.parse(text, context)
        except (LLMOutputError, ValueError) as err:
            callback = context.get("on_reject") if isinstance(context, Mapping) else None
            if callable(callback):
                callback(context.get("key") if isinstance(context, Mapping) else None, rejection_reason(str(err)))
            raise LLMOutputError(str(err)) from None


def rejection_reason(message: str) -> str:
    """A short class of a rejection message: ``impossible_position``, ``unknown_object``, ``wrong_verb``,
    ``too_long``, ``not_json`` or ``malformed`` (wrong kind, types, fields, counts)."""
    for reason in ("impossible position", "unknown object", "wrong verb"):
        if reason in message:
            return reason.replace(" ", "_")
    if "longer than" in message:
        return "too_long"
    if "not plain JSON" in message or "Invalid JSON" in message or "EOF" in message:
        return "not_json"
    return "malformed"


def build_prompt(level: Mapping[str, Any], kind: str) -> str:
    """The user message sent for one level: the level text, the kind's reply format and one worked example.

    :param level: ``describe_level()`` record
    :param kind: one of :data:`SUBGOAL_KINDS`
    """
    formats = {
        "position": ('{"subgoals": [{"x": 3, "y": 1}, {"x": 5, "y": 2}]}', "cells (x, y) to reach, in order"),
        "object": (
            '{"subgoals": [{"type": "key", "color": "yellow", "state": "any"}, '
            '{"type": "door", "color": "yellow", "state": "locked"}, {"type": "ball", "color": "red", "state": "any"}]}',
            "objects to pick up, open or reach, in order",
        ),
        "language": (
            '{"subgoals": [{"verb": "pick up", "color": "yellow", "type": "key"}, '
            '{"verb": "open", "color": "yellow", "type": "door"}, {"verb": "pick up", "color": "red", "type": "ball"}]}',
            "instructions, in order",
        ),
    }
    example, what = formats[kind]
    return (
        "You plan subgoals for an agent in a MiniGrid level.\n"
        f"{level['text']}\n\n"
        f"List the subgoals ({what}) that lead the agent to complete the mission, at most {MAX_SUBGOALS}. "
        f"Answer with JSON only, for example:\n{example}\n"
    )


# --------------------------------------------------------------------------------------------------------------
# Encoding of the current subgoal (for conditioned students)


def text_embedding(text: str, dim: int = TEXT_EMBEDDING_DIM) -> np.ndarray:
    """A deterministic bag-of-words embedding (each word hashed with CRC-32 into ``dim`` signed buckets, then
    L2-normalised). No model download; instructions of a closed vocabulary map to distinct vectors."""
    vector = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"[a-z]+|\d+", text.lower()):
        h = zlib.crc32(word.encode("utf-8"))
        vector[h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def encode_subgoal(subgoal: Mapping[str, Any] | None, kind: str, agent: tuple[int, int]) -> np.ndarray:
    """The vector a conditioned policy sees for the current subgoal (the paper's encodings).

    :param subgoal: the current subgoal record, or ``None`` (none left, or no subgoals)
    :param kind: ``position`` → (x − agent x, y − agent y); ``object`` → MiniGrid code (type, colour, state);
        ``language`` → :func:`text_embedding` of its instruction
    :param agent: the agent's cell
    """
    if kind == "position":
        if subgoal is None:
            return np.zeros(2, dtype=np.float32)
        return np.array([int(subgoal["x"]) - agent[0], int(subgoal["y"]) - agent[1]], dtype=np.float32)
    if kind == "object":
        if subgoal is None:
            return np.full(3, -1.0, dtype=np.float32)
        return np.asarray(subgoal["code"], dtype=np.float32)
    if subgoal is None:
        return np.zeros(TEXT_EMBEDDING_DIM, dtype=np.float32)
    return text_embedding(str(subgoal["text"]))


# --------------------------------------------------------------------------------------------------------------
# Env-worker wrappers


def _check_subgoals(raw: Any) -> list[dict[str, Any]]:
    """Subgoal records from a task annotation (JSON from our own teacher, but checked: annotations also come back
    from checkpoints and logs)."""
    if not isinstance(raw, list):
        return []
    out = []
    for s in raw[:MAX_SUBGOALS]:
        if isinstance(s, Mapping) and isinstance(s.get("x"), int) and isinstance(s.get("y"), int):
            out.append(dict(s))
    return out


class SubgoalShaping(gym.Wrapper[Any, Any, Any, Any]):
    """Pays ``alpha * (1 - k / T)`` once when the current subgoal of the task's annotation is reached.

    Apply it above the ``TaskEnv`` (the reward-teacher mechanism does), so the env's own return is recorded
    before the bonus is added. Reports ``info["subgoal_bonus"]`` every step, ``info["subgoal_return"]`` and
    ``info["subgoals_completed"]`` (in order) / ``info["subgoals_out_of_order"]`` at episode end.

    :param env: an env offering ``subgoal_snapshot`` and ``subgoals_reached`` (through its wrappers)
    :param alpha: bonus scale (the paper: 0.2; 0 conditions without shaping)
    """

    def __init__(self, env: gym.Env[Any, Any], alpha: float = 0.2) -> None:
        super().__init__(env)
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)
        self._snapshot_fn = env.get_wrapper_attr("subgoal_snapshot")
        self._reached_fn = env.get_wrapper_attr("subgoals_reached")
        self.subgoals: list[dict[str, Any]] = []
        self.done: list[bool] = []
        self.pointer = 0
        self.steps_since = 0
        self.episode_bonus = 0.0
        self.paid = 0
        self.out_of_order = 0
        self.horizon = 1

    @property
    def current_subgoal(self) -> dict[str, Any] | None:
        """The subgoal that pays next (``None`` when all are done or there are none)."""
        return self.subgoals[self.pointer] if self.pointer < len(self.subgoals) else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        task = self.env.get_wrapper_attr("current_task")
        self.subgoals = _check_subgoals(task.annotations.get("subgoals")) if isinstance(task, Task) else []
        self.done = [False] * len(self.subgoals)
        self.pointer = 0
        self.steps_since = 0
        self.episode_bonus = 0.0
        self.paid = 0
        self.out_of_order = 0
        self.horizon = max(1, int(getattr(self.env.unwrapped, "max_steps", 1)))
        info["subgoal_bonus"] = 0.0
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        pending = [s for s, d in zip(self.subgoals, self.done, strict=True) if not d]
        snapshot = self._snapshot_fn(pending) if pending else []
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps_since += 1
        bonus = 0.0
        if pending:
            reached = self._reached_fn(pending, snapshot)
            indices = [i for i, d in enumerate(self.done) if not d]
            for i, hit in zip(indices, reached, strict=True):
                if not hit:
                    continue
                self.done[i] = True
                if i == self.pointer:
                    bonus += self.alpha * (1.0 - self.steps_since / self.horizon)
                    self.paid += 1
                    self.steps_since = 0
                else:
                    self.out_of_order += 1  # marked, never paid
            while self.pointer < len(self.done) and self.done[self.pointer]:
                self.pointer += 1  # past the one just paid, and past any reached out of order
        self.episode_bonus += bonus
        info["subgoal_bonus"] = bonus
        if terminated or truncated:
            info["subgoal_return"] = self.episode_bonus
            info["subgoals_completed"] = self.paid
            info["subgoals_out_of_order"] = self.out_of_order
            info["subgoals_total"] = len(self.subgoals)
        return obs, float(reward) + bonus, terminated, truncated, info


class SubgoalObservation(gym.ObservationWrapper[dict[str, np.ndarray], Any, Any]):
    """Appends the current subgoal's encoding: the observation becomes ``{"image": obs, "subgoal": vector}``.

    Apply it above :class:`SubgoalShaping` (it reads its ``current_subgoal``).

    :param env: a :class:`SubgoalShaping`-wrapped env whose observation is a Box
    :param kind: the encoding (see :func:`encode_subgoal`)
    """

    def __init__(self, env: gym.Env[Any, Any], kind: str = "object") -> None:
        super().__init__(env)
        if kind not in ENCODING_DIMS:
            raise ValueError(f"kind must be one of {sorted(ENCODING_DIMS)}, got {kind!r}")
        self.kind = kind
        bound = 1.0 if kind == "language" else 255.0
        self.observation_space = gym.spaces.Dict(  # type: ignore[assignment]
            {
                "image": env.observation_space,
                "subgoal": gym.spaces.Box(-bound, bound, shape=(ENCODING_DIMS[kind],), dtype=np.float32),
            }
        )
        self._agent_fn = env.get_wrapper_attr("agent_position")

    def observation(self, observation: Any) -> dict[str, np.ndarray]:
        current = self.env.get_wrapper_attr("current_subgoal")
        return {"image": observation, "subgoal": encode_subgoal(current, self.kind, self._agent_fn())}


def subgoal_env_wrapper(env: gym.Env[Any, Any], alpha: float, observe: bool, kind: str) -> gym.Env[Any, Any]:
    """The teacher's env-worker part: shaping, and the observation wrapper when the student is conditioned.

    :param env: a ``TaskEnv`` (or a wrapper of one) over an env offering the subgoal methods
    :param alpha: bonus scale
    :param observe: add the current subgoal to observations
    :param kind: encoding of the current subgoal
    """
    shaped: gym.Env[Any, Any] = SubgoalShaping(env, alpha=alpha)
    return SubgoalObservation(shaped, kind=kind) if observe else shaped


# --------------------------------------------------------------------------------------------------------------
# The teacher


def level_key(env_id: str, task: Task) -> str:
    """The cache key of a task's level: env id plus the task's parameters and explicit level (canonical JSON)."""
    return json.dumps(
        {"env": env_id, "params": dict(task.params or {}), "level": task.level}, sort_keys=True, default=str
    )


@register_reward_teacher("subgoals")
class SubgoalTeacher(RewardTeacher):
    """Annotates each task with ordered subgoals (LLM, oracle, surrogate or none) and shapes the reward with them.

    :param seed: RNG seed (the surrogate's corruption is a fixed function of the seed and the level)
    :param env_id: the training env's id (a describer env of it is made with ``gym.make``; its ids must be
        registered, e.g. by ``import envs``)
    :param env_kwargs: keyword arguments of that ``gym.make`` (as the training envs get them)
    :param kind: ``object`` (default; the paper's best), ``position`` or ``language``
    :param source: where subgoals come from: ``llm``, ``oracle``, ``surrogate`` or ``none``
    :param fallback: what a level plays while its LLM answer is pending, or after ``max_attempts`` rejected
        replies: ``oracle``, ``surrogate`` or ``none``
    :param alpha: bonus scale (0.2 as in the paper's main experiments)
    :param observe: give the student the current subgoal (``{"image", "subgoal"}`` observations)
    :param surrogate: accuracy of the surrogate: a preset LLM name (``llama``, ``deepseek``, ``qwen``, looked up by
        ``env_id`` in the paper's table) or a dict with ``object_accuracy``, ``position_accuracy``, ``error_mean``,
        ``error_std``
    :param llm: :class:`~curricula.llm.LLMConfig` fields of a server to use (``{"base_url": ...}``); ``None``
        starts the embedded server (Gemma-3-270M) when ``source="llm"``. Give ``cache_dir`` to keep replies on disk
        across runs
    :param max_tokens: generation budget of one reply
    :param max_attempts: rejected replies of a level before it settles on the fallback for good
    :param concurrency: requests in flight at most
    :param llm_nice: niceness given to the embedded server's process (0: leave it), so that on a small machine it
        uses the CPU time training leaves
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        kind: str = "object",
        source: str = "llm",
        fallback: str = "none",
        alpha: float = 0.2,
        observe: bool = False,
        surrogate: str | Mapping[str, float] = "llama",
        llm: Mapping[str, Any] | None = None,
        max_tokens: int = 96,
        max_attempts: int = 2,
        concurrency: int = 2,
        llm_nice: int = 10,
    ) -> None:
        super().__init__(seed)
        if kind not in SUBGOAL_KINDS:
            raise ValueError(f"kind must be one of {SUBGOAL_KINDS}, got {kind!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.kind = kind
        self.source = source
        self.fallback = fallback
        self.alpha = float(alpha)
        self.observe = bool(observe)
        self.surrogate_spec = surrogate
        self.llm_overrides = dict(llm) if llm is not None else None
        self.max_tokens = int(max_tokens)
        self.max_attempts = int(max_attempts)
        self.concurrency = int(concurrency)
        self.llm_nice = int(llm_nice)
        self.reply = PlanReply(kind)

        # answered levels (key -> subgoal records), and levels given up on after max_attempts rejections
        self.cache: dict[str, list[dict[str, Any]]] = {}
        self.settled: set[str] = set()
        self.rejections: dict[str, int] = {}
        self.rejection_reasons: dict[str, int] = {}
        self.counts = dict.fromkeys(
            ("llm_annotations", "fallback_annotations", "requests_submitted", "llm_accepted", "llm_rejected"), 0
        )
        self._reject_lock = threading.Lock()
        self._describer: gym.Env[Any, Any] | None = None
        self._descriptions: dict[str, dict[str, Any]] = {}
        self._server: Any = None
        self._client: LLMClient | None = None
        self._annotator: Annotator[StrictModel] | None = None
        self._held: dict[str, Item] = {}
        self._start_lock = threading.Lock()
        self._start_thread: threading.Thread | None = None
        #: why the LLM side could not start (then every level plays the fallback)
        self.llm_error: str | None = None
        self._surrogate_params: dict[str, float] | None = None

    # -- describer env ------------------------------------------------------------------------------------------
    def _describer_env(self) -> gym.Env[Any, Any]:
        if self._describer is None:
            if self.env_id not in gym.registry:
                raise ValueError(f"env id {self.env_id!r} is not registered (import the package that registers it)")
            env = gym.make(self.env_id, **self.env_kwargs)
            missing = [m for m in _REQUIRED_ENV_METHODS if not _has_attr(env, m)]
            if missing:
                env.close()
                raise ValueError(
                    f"{self.env_id} does not offer the subgoal methods {missing} (see envs/minigrid_text.py)"
                )
            self._describer = env
        return self._describer

    def _reset_describer(self, task: Task) -> gym.Env[Any, Any]:
        env = self._describer_env()
        env.reset(options={"task": task})
        return env

    def describe(self, task: Task) -> dict[str, Any]:
        """The level description of a task (cached by level key for the levels in flight)."""
        key = level_key(self.env_id, task)
        if key not in self._descriptions:
            if len(self._descriptions) > 4096:  # only pending levels need one; keep memory bounded
                self._descriptions.clear()
            self._descriptions[key] = self._reset_describer(task).get_wrapper_attr("describe_level")()
        return self._descriptions[key]

    def _surrogate(self) -> dict[str, float]:
        if self._surrogate_params is None:
            if isinstance(self.surrogate_spec, str):
                # the paper's accuracy table lives with the env families (envs/minigrid_text.py)
                preset = self._describer_env().get_wrapper_attr("surrogate_preset")(self.surrogate_spec)
                self._surrogate_params = {k: float(v) for k, v in preset.items()}
            else:
                allowed = {"object_accuracy", "position_accuracy", "error_mean", "error_std"}
                unknown = set(self.surrogate_spec) - allowed
                if unknown:
                    raise ValueError(f"unknown surrogate keys {sorted(unknown)}; allowed {sorted(allowed)}")
                self._surrogate_params = {k: float(v) for k, v in self.surrogate_spec.items()}
        return self._surrogate_params

    def computed_subgoals(self, task: Task, source: str) -> list[dict[str, Any]]:
        """Oracle, surrogate or no subgoals of a task's level (no LLM involved).

        :param task: the task
        :param source: ``oracle``, ``surrogate`` or ``none``
        """
        if source == "none":
            return []
        env = self._reset_describer(task)
        if source == "oracle":
            return list(env.get_wrapper_attr("oracle_subgoals")(self.kind))
        digest = hashlib.sha256(f"{self.seed}|{level_key(self.env_id, task)}".encode()).digest()
        return list(
            env.get_wrapper_attr("noisy_subgoals")(
                self.kind, seed=int.from_bytes(digest[:8], "little"), **self._surrogate()
            )
        )

    # -- LLM ----------------------------------------------------------------------------------------------------
    def start_llm(self) -> None:
        """Start the LLM side (the embedded server when no ``llm`` config is given, the client, the annotator) in
        a background thread; idempotent. :meth:`annotate` calls it on first use and never waits for it: until it is
        ready, levels play the fallback and their requests are held (at most 4096) and sent once it is."""
        with self._start_lock:
            if self._start_thread is None:
                self._start_thread = threading.Thread(target=self._start_llm, name="subgoals-llm-start", daemon=True)
                self._start_thread.start()

    def _start_llm(self) -> None:
        try:
            if self.llm_overrides is None:
                from curricula.llm import EmbeddedLLMServer

                self._server = EmbeddedLLMServer().start()
                if self.llm_nice and self._server.pid is not None:
                    # the server then decodes on the CPU that training leaves idle: stepping keeps its speed
                    os.setpriority(os.PRIO_PROCESS, self._server.pid, self.llm_nice)
                # one request at a time on the embedded server, slow on small CPUs: wait long, never retry
                client = self._server.client(timeout_s=240.0, max_retries=0)
            else:
                client = LLMClient(LLMConfig.from_dict(self.llm_overrides))
            self._client = client
            self._annotator = Annotator(
                client, self.reply, chat=True, max_tokens=self.max_tokens, concurrency=self.concurrency
            )
        except Exception as err:  # a missing or broken server degrades the teacher to its fallback, never crashes
            self.llm_error = f"{type(err).__name__}: {err}"
            logger.warning("subgoals: the LLM could not be started (%s); levels play the fallback", self.llm_error)

    def _submit(self, item: Item) -> None:
        annotator = self._annotator
        if annotator is None:
            self.start_llm()
            if self.llm_error is None and len(self._held) < 4096:
                self._held[str(item.key)] = item
            return
        if self._held:
            held, self._held = list(self._held.values()), {}
            annotator.submit(held)
        annotator.submit([item])  # never blocks; dedup in the annotator

    def _on_reject(self, key: Any, reason: str) -> None:
        # called from the annotator's worker threads
        with self._reject_lock:
            if isinstance(key, str):
                self.rejections[key] = self.rejections.get(key, 0) + 1
            self.rejection_reasons[reason] = self.rejection_reasons.get(reason, 0) + 1
            self.counts["llm_rejected"] += 1

    def request_item(self, task: Task) -> Item:
        """The annotator item of a task's level (prompt and validation context)."""
        key = level_key(self.env_id, task)
        level = self.describe(task)
        return Item(key, build_prompt(level, self.kind), {"level": level, "key": key, "on_reject": self._on_reject})

    def _annotations(self, task: Task) -> dict[str, Any]:
        if self.source != "llm":
            return {"subgoals": self.computed_subgoals(task, self.source), "subgoal_source": self.source}
        key = level_key(self.env_id, task)
        cached = self.cache.get(key)
        if cached is None and key not in self.settled:
            annotator = self._annotator
            plan = annotator.get(key) if annotator is not None else None
            if plan is not None:
                cached = resolve_plan(plan, self.describe(task))
                self.cache[key] = cached
                self.counts["llm_accepted"] += 1
                self._descriptions.pop(key, None)
            elif self.rejections.get(key, 0) >= self.max_attempts:
                self.settled.add(key)  # the model keeps answering nonsense here: fallback for good
                self._descriptions.pop(key, None)
            elif self.llm_error is None:
                self._submit(self.request_item(task))
                self.counts["requests_submitted"] += 1
        if cached is not None:
            self.counts["llm_annotations"] += 1
            return {"subgoals": [dict(s) for s in cached], "subgoal_source": "llm"}
        self.counts["fallback_annotations"] += 1
        return {"subgoals": self.computed_subgoals(task, self.fallback), "subgoal_source": f"fallback:{self.fallback}"}

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the LLM side has started and every submitted level is answered or failed (for tests,
        benchmarks and warm-ups; training never calls it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._start_thread is not None:
            self._start_thread.join(timeout)
        annotator = self._annotator
        if annotator is None:
            return self._start_thread is None or not self._start_thread.is_alive()
        if self._held:
            held, self._held = list(self._held.values()), {}
            annotator.submit(held)
        return annotator.wait_idle(None if deadline is None else max(0.0, deadline - time.monotonic()))

    # -- composition hooks --------------------------------------------------------------------------------------
    def env_wrapper(self) -> EnvWrapper:
        """:func:`subgoal_env_wrapper` with this teacher's ``alpha``, ``observe`` and ``kind`` (picklable)."""
        return functools.partial(subgoal_env_wrapper, alpha=self.alpha, observe=self.observe, kind=self.kind)

    def _update(self, result: EpisodeResult) -> None:
        return

    def scalars(self) -> dict[str, float]:
        """Annotation counts by source, LLM requests / acceptances / rejections (by reason), client counters."""
        out = {**super().scalars(), **{k: float(v) for k, v in self.counts.items()}}
        out["cached_levels"] = float(len(self.cache))
        out["settled_levels"] = float(len(self.settled))
        with self._reject_lock:
            out.update({f"rejected_{k}": float(v) for k, v in self.rejection_reasons.items()})
        if self._client is not None:
            stats = self._client.stats.snapshot()
            for name in ("requests", "failures", "parse_failures", "timeouts", "breaker_opens", "latency_mean_s"):
                out[f"llm_{name}"] = stats[name]
        if self._annotator is not None:
            ann = self._annotator.stats()
            out.update({f"annotator_{k}": ann[k] for k in ("queue_len", "in_flight", "dropped", "failed")})
        return out

    def end_of_training_warnings(self) -> list[str]:
        """A warning when the LLM answered nothing usable although levels were sent."""
        if self.llm_error is not None:
            return [f"subgoals: the LLM never started ({self.llm_error}); every episode played the fallback"]
        if self.source == "llm" and self.counts["requests_submitted"] and not self.counts["llm_accepted"]:
            return [
                f"subgoals: {self.counts['requests_submitted']} levels were sent to the LLM and none was answered "
                f"with valid subgoals ({self.counts['llm_rejected']} replies rejected); every episode played the "
                f"fallback '{self.fallback}'"
            ]
        return []

    def close(self) -> None:
        """Stop the annotator, the embedded server (if this teacher started it) and the describer env."""
        if self._start_thread is not None:
            self._start_thread.join(60.0)
        if self._annotator is not None:
            self._annotator.close()
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            self._server.stop()
        if self._describer is not None:
            self._describer.close()
        self._annotator = self._client = self._server = self._describer = None
        self._start_thread = None

    # -- state --------------------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        with self._reject_lock:
            rejections = sorted(self.rejections.items())
            reasons = dict(self.rejection_reasons)
        return {
            **super()._state(),
            "kind": self.kind,
            "cache": [[key, subgoals] for key, subgoals in sorted(self.cache.items())],
            "settled": sorted(self.settled),
            "rejections": [[k, v] for k, v in rejections],
            "rejection_reasons": reasons,
            "counts": dict(self.counts),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        if state["kind"] != self.kind:
            raise ValueError(f"state holds {state['kind']!r} subgoals, this teacher makes {self.kind!r} ones")
        self.cache = {str(k): [dict(s) for s in v] for k, v in state["cache"]}
        self.settled = {str(k) for k in state["settled"]}
        with self._reject_lock:
            self.rejections = {str(k): int(v) for k, v in state["rejections"]}
            self.rejection_reasons = {str(k): int(v) for k, v in state["rejection_reasons"].items()}
        self.counts = {k: int(state["counts"].get(k, 0)) for k in self.counts}


def _has_attr(env: gym.Env[Any, Any], name: str) -> bool:
    try:
        env.get_wrapper_attr(name)
    except AttributeError:
        return False
    return True


def plan_json_schema(kind: str) -> dict[str, Any]:
    """The JSON schema sent to the server for a kind's replies (for docs and bigger servers' logs)."""
    return dict(PLAN_MODELS[kind].model_json_schema())


__all__ = [
    "ENCODING_DIMS",
    "LanguagePlan",
    "ObjectPlan",
    "PlanReply",
    "PositionPlan",
    "SubgoalObservation",
    "SubgoalShaping",
    "SubgoalTeacher",
    "build_prompt",
    "encode_subgoal",
    "level_key",
    "resolve_plan",
    "text_embedding",
]
