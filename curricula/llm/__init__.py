"""LLM plumbing shared by the LLM teachers: a defensive OpenAI-compatible client, an asynchronous deduplicating
annotator, and an embedded local server (docs/llm.md)."""

from curricula.llm.annotator import Annotator, Item
from curricula.llm.client import (
    CircuitBreaker,
    Constraint,
    LLMClient,
    LLMConfig,
    LLMOutcome,
    LLMOutputError,
    LLMStats,
    ResponseCache,
    choice_grammar,
    parse_choice,
    parse_json,
    parse_text,
    record_llm_stats,
    validate_json,
)
from curricula.llm.server import EmbeddedLLMServer, LLMServerError, cache_dir, ensure_default_model

__all__ = [
    "Annotator",
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
    "ResponseCache",
    "cache_dir",
    "choice_grammar",
    "ensure_default_model",
    "parse_choice",
    "parse_json",
    "parse_text",
    "record_llm_stats",
    "validate_json",
]
