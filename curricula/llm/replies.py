"""What a model's reply must look like: the constraint a server enforces while decoding, and the strict parser that
turns the reply text into a typed value.

A :class:`ReplyFormat` pairs the two, so that what the server is told and what the client accepts cannot drift
apart. Three formats cover the LLM teachers:

- :class:`ChoiceReply`: exactly one of a few labels (ONI's helpfulness labels and preferences);
- :class:`ModelReply`: one JSON document, parsed strictly into a pydantic model whose JSON schema is what the
  server constrains decoding with (the subgoal teacher's typed subgoals);
- :class:`TextReply`: free text, unvalidated (smoke tests and benchmarks).

LLM output is untrusted input: it is parsed, never executed, and every way a reply can be wrong (not JSON, extra
fields, wrong types, out-of-range values, trailing text, NaN, duplicate keys, a body larger than the format
allows) raises :class:`LLMOutputError`, which the client turns into a counted rejection and the caller's default.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

CONSTRAINT_STYLES: tuple[str, ...] = ("llama.cpp", "vllm", "openai", "none")
DEFAULT_MAX_REPLY_CHARS = 100_000


class LLMOutputError(ValueError):
    """Model output that does not parse or validate; raised by parsers, turned into the default by the client."""


# --------------------------------------------------------------------------------------------------------------
# Constraints on the wire


@dataclass(frozen=True)
class Constraint:
    """Constrained decoding, translated to what each server family accepts. Exactly one field should be set.

    Servers that cannot enforce a constraint simply generate freely; the reply format's parser still validates.

    :param choices: the reply must be exactly one of these strings
    :param json_schema: the reply must be JSON matching this schema
    :param grammar: a GBNF grammar (llama.cpp) or a grammar string the server understands (vLLM ``guided_grammar``)
    :param regex: a regular expression (vLLM ``guided_regex``; ignored elsewhere)
    """

    choices: tuple[str, ...] | None = None
    json_schema: Mapping[str, Any] | None = None
    grammar: str | None = None
    regex: str | None = None

    def __post_init__(self) -> None:
        given = [n for n in ("choices", "json_schema", "grammar", "regex") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"Constraint takes exactly one of choices/json_schema/grammar/regex, got {given}")
        if self.choices is not None and (not self.choices or not all(isinstance(c, str) and c for c in self.choices)):
            raise ValueError("Constraint.choices must be a non-empty tuple of non-empty strings")

    def to_key(self) -> dict[str, Any]:
        """JSON data identifying the constraint (part of the cache key)."""
        return {
            "choices": list(self.choices) if self.choices is not None else None,
            "json_schema": self.json_schema,
            "grammar": self.grammar,
            "regex": self.regex,
        }


def _gbnf_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def choice_grammar(choices: Sequence[str]) -> str:
    """A GBNF grammar that accepts exactly one of ``choices``.

    :param choices: the allowed replies
    """
    return "root ::= " + " | ".join(_gbnf_literal(c) for c in choices)


def constraint_body(constraint: Constraint | None, style: str, chat: bool) -> dict[str, Any]:
    """The request fields (sent as ``extra_body`` or ``response_format``) that carry a constraint.

    :param constraint: the constraint, or ``None``
    :param style: one of :data:`CONSTRAINT_STYLES`
    :param chat: whether the request goes to chat completions (``response_format`` exists only there)
    """
    if constraint is None or style == "none":
        return {}
    if style == "llama.cpp":
        if constraint.choices is not None:
            return {"grammar": choice_grammar(constraint.choices)}
        if constraint.grammar is not None:
            return {"grammar": constraint.grammar}
        if constraint.json_schema is not None:
            schema = dict(constraint.json_schema)
            # llama-server reads json_schema on both endpoints; llama-cpp-python reads response_format on chat.
            body: dict[str, Any] = {"json_schema": schema}
            if chat:
                body["response_format"] = {"type": "json_object", "schema": schema}
            return body
        return {}
    if style == "vllm":
        if constraint.choices is not None:
            return {"guided_choice": list(constraint.choices)}
        if constraint.json_schema is not None:
            return {"guided_json": dict(constraint.json_schema)}
        if constraint.grammar is not None:
            return {"guided_grammar": constraint.grammar}
        return {"guided_regex": constraint.regex}
    # OpenAI proper enforces JSON schemas on chat only; other constraints are left to the reply format's parser.
    if not chat or constraint.json_schema is None:
        return {}
    schema = dict(constraint.json_schema)
    return {"response_format": {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}}


# --------------------------------------------------------------------------------------------------------------
# Reply formats


class ReplyFormat(ABC, Generic[T]):
    """The constraint sent with a request and the strict parser of its reply. Subclass it for a custom format
    (e.g. a GBNF grammar and a parser of what it accepts).

    :ivar constraint: what the server is asked to enforce while decoding (``None``: nothing)
    """

    constraint: Constraint | None = None

    @abstractmethod
    def parse(self, text: str, context: Mapping[str, Any] | None = None) -> T:
        """The typed value of a reply.

        :param text: the reply text, untrusted
        :param context: per-request data the validation may need (e.g. the level a reply must fit)
        :raises LLMOutputError: (or another ``ValueError``) when the reply is not acceptable
        """


class TextReply(ReplyFormat[str]):
    """Free text, returned as it came (no constraint, no validation)."""

    def parse(self, text: str, context: Mapping[str, Any] | None = None) -> str:
        """The reply text itself.

        :param text: the reply text
        :param context: unused
        """
        return text


class ChoiceReply(ReplyFormat[str]):
    """Exactly one of a few labels (surrounding white space ignored), enforced by the server's grammar.

    :param choices: the allowed replies
    """

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices: tuple[str, ...] = tuple(choices)
        self.constraint = Constraint(choices=self.choices)
        self._allowed = frozenset(self.choices)

    def __repr__(self) -> str:
        return f"ChoiceReply({list(self.choices)!r})"

    def parse(self, text: str, context: Mapping[str, Any] | None = None) -> str:
        """The label the reply is.

        :param text: the reply text
        :param context: unused
        """
        label = text.strip()
        if label not in self._allowed:
            raise LLMOutputError(f"reply {label[:40]!r} is not one of {sorted(self._allowed)}")
        return label


class StrictModel(BaseModel):
    """A base for reply models: extra fields forbidden, no type coercion, no NaN/Infinity, immutable.

    Subclass it (nested models too) for the typed replies the LLM teachers read::

        class Subgoal(StrictModel):
            kind: Literal["position", "object"]
            target: str
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class ModelReply(ReplyFormat[M], Generic[M]):
    """One JSON document, parsed strictly into ``model``; the server is given ``model``'s JSON schema.

    Strict means: the whole reply is exactly one JSON value (surrounding white space allowed, nothing else); no
    NaN/Infinity, no number too large for a float, no duplicate keys (JSON parsers silently keep the last one);
    pydantic's strict mode (no ``"1"`` for an int, no ``1`` for a bool); no field the model does not declare
    (every object in the schema must be closed: subclass :class:`StrictModel` or set ``extra="forbid"``); and the
    model's own validators, which may read the request's ``context`` as ``info.context``.

    :param model: the pydantic model class of a reply
    :param max_chars: longer replies are refused before any decoding
    """

    def __init__(self, model: type[M], *, max_chars: int = DEFAULT_MAX_REPLY_CHARS) -> None:
        if max_chars < 2:
            raise ValueError(f"max_chars must be >= 2, got {max_chars}")
        schema = model.model_json_schema()
        open_objects = _open_objects(schema)
        if open_objects:
            raise ValueError(
                f"reply model {model.__name__} accepts fields it does not declare at {open_objects}: subclass "
                "curricula.llm.StrictModel (or set model_config extra='forbid') in every nested model"
            )
        self.model = model
        self.max_chars = max_chars
        self.constraint = Constraint(json_schema=schema)

    def __repr__(self) -> str:
        return f"ModelReply({self.model.__name__}, max_chars={self.max_chars})"

    def parse(self, text: str, context: Mapping[str, Any] | None = None) -> M:
        """The reply as a validated ``model`` instance.

        :param text: the reply text
        :param context: passed to the model's validators (``info.context``)
        """
        if len(text) > self.max_chars:
            raise LLMOutputError(f"reply longer than {self.max_chars} characters")
        _check_plain_json(text)
        try:
            return self.model.model_validate_json(text, strict=True, context=context)
        except ValidationError as err:
            # No input values in the message: it may be logged, and the input is hostile and possibly huge.
            errors = err.errors(include_url=False, include_input=False, include_context=False)
            first = errors[0] if errors else {"loc": (), "msg": "invalid"}
            where = ".".join(str(part) for part in first["loc"]) or "$"
            raise LLMOutputError(f"{len(errors)} validation error(s); first at {where}: {first['msg']}") from None


def _open_objects(schema: Mapping[str, Any]) -> list[str]:
    """Paths of the object schemas in ``schema`` (``$defs`` included) that admit undeclared fields."""
    found: list[str] = []

    def visit(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            # A mapping field (dict[str, X]) has a schema as additionalProperties: closed to anything but X.
            if node.get("type") == "object" and node.get("additionalProperties", True) is True:
                found.append(path)
            for key, value in node.items():
                visit(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, f"{path}[{i}]")

    visit(schema, "$")
    return found


def _check_plain_json(text: str) -> None:
    """Refuse what pydantic's JSON parser would accept but JSON (or a reward) should not: NaN/Infinity, numbers
    that overflow to infinity, duplicate keys, and nesting deep enough to exhaust the stack."""
    try:
        json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as err:
        message = f"{err.msg} at {err.pos}" if isinstance(err, json.JSONDecodeError) else str(err)[:200]
        raise LLMOutputError(f"reply is not plain JSON: {message}") from None


def _refuse_constant(name: str) -> Any:
    raise LLMOutputError(f"non-JSON constant {name}")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise LLMOutputError(f"number {literal[:40]} overflows a float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise LLMOutputError("duplicate key in a JSON object")
    return dict(pairs)


@cache
def _model_reply(model: type[BaseModel]) -> ModelReply[Any]:
    # Schema generation and the closed-object check cost far less than a request, but callers that pass a model
    # class on every call need not pay them each time.
    return ModelReply(model)


def as_reply_format(reply: ReplyFormat[T] | type[T]) -> ReplyFormat[T]:
    """``reply`` as a :class:`ReplyFormat`: a pydantic model class becomes ``ModelReply(reply)``.

    :param reply: a reply format, or a pydantic model class
    :raises TypeError: for anything else (a call built wrongly, not a model's fault)
    """
    if isinstance(reply, ReplyFormat):
        return reply
    if isinstance(reply, type) and issubclass(reply, BaseModel):
        return cast(ReplyFormat[T], _model_reply(reply))
    raise TypeError(f"reply must be a ReplyFormat or a pydantic model class, got {reply!r}")
