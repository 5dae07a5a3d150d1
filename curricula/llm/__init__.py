"""LLM plumbing shared by the LLM teachers: a defensive OpenAI-compatible client whose replies come back typed
(strictly parsed into pydantic models or labels), an asynchronous deduplicating annotator, and an embedded local
server (docs/llm.md)."""

from curricula.llm.annotator import Annotator, Item
from curricula.llm.client import (
    CircuitBreaker,
    LLMClient,
    LLMConfig,
    LLMOutcome,
    LLMStats,
    RequestOptions,
    ResponseCache,
    record_llm_stats,
)
from curricula.llm.replies import (
    ChoiceReply,
    Constraint,
    LLMOutputError,
    ModelReply,
    ReplyFormat,
    StrictModel,
    TextReply,
    choice_grammar,
)
from curricula.llm.server import EmbeddedLLMServer, LLMServerError, cache_dir, ensure_default_model

__all__ = [
    "Annotator",
    "ChoiceReply",
    "CircuitBreaker",
    "Constraint",
    "EmbeddedLLMServer",
    "Item",
    "LLMClient",
    "LLMConfig",
    "LLMOutcome",
    "LLMOutputError",
    "LLMServerError",
    "LLMStats",
    "ModelReply",
    "ReplyFormat",
    "RequestOptions",
    "ResponseCache",
    "StrictModel",
    "TextReply",
    "cache_dir",
    "choice_grammar",
    "ensure_default_model",
    "record_llm_stats",
]
