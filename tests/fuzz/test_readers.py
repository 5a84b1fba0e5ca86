"""The readers of outside input raise only their declared errors, whatever JSON-ish value they are given.

The edge's request readers (OpenAI's and Anthropic's) raise SwitchyardError (a 400 naming the field);
the providers' reply readers raise MalformedError; the config loader raises ConfigError. Anything else
(a TypeError, a KeyError) would surface as a 500 or a crash at start-up.
"""

from __future__ import annotations

import contextlib
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from switchyard.config import ConfigError, parse_config
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge import anthropic
from switchyard.services.providers.adapters import anthropic_wire, gemini_replies
from switchyard.wire import openai
from switchyard.wire.anthropic import vocabulary as anthropic_vocab
from switchyard.wire.openai.requests import cache_directives
from switchyard.wire.values import MalformedError
from tests.fuzz.strategies import json_ish

FUZZ = settings(max_examples=200, deadline=None)

_OPENAI_KEYS = [
    "model",
    "messages",
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "id",
    "type",
    "function",
    "arguments",
    "text",
    "image_url",
    "url",
    "detail",
    "tools",
    "tool_choice",
    "parameters",
    "description",
    "strict",
    "response_format",
    "json_schema",
    "schema",
    "stop",
    "metadata",
    "stream",
    "stream_options",
    "include_usage",
    "temperature",
    "top_p",
    "n",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "seed",
    "user",
    "parallel_tool_calls",
    "cache",
    "no-cache",
    "ttl",
]
_OPENAI_WORDS = [
    "system",
    "user",
    "assistant",
    "tool",
    "developer",
    "function",
    "text",
    "image_url",
    "auto",
    "none",
    "required",
    "json_object",
]
_ANTHROPIC_KEYS = [
    *anthropic_vocab.REQUEST_KEYS,
    *[
        "role",
        "content",
        "type",
        "text",
        "source",
        "media_type",
        "data",
        "url",
        "id",
        "name",
        "input",
        "tool_use_id",
        "is_error",
        "input_schema",
        "description",
        "disable_parallel_tool_use",
        "format",
        "schema",
        "effort",
    ],
]
_ANTHROPIC_WORDS = [
    "user",
    "assistant",
    "text",
    "image",
    "tool_use",
    "tool_result",
    "auto",
    "any",
    "tool",
    "none",
    "base64",
    "url",
    "json_schema",
]


def _request_body(keys: list[str], words: list[str]) -> st.SearchStrategy[Any]:
    # Mostly objects with a model and messages, so the reader gets past its first checks.
    value = json_ish(keys, words)
    messages = st.lists(st.dictionaries(st.sampled_from(keys), value, max_size=4), min_size=1, max_size=3)
    required = st.fixed_dictionaries({"model": st.just("m"), "messages": messages, "max_tokens": st.integers(0, 5000)})
    steered = st.builds(
        lambda extra, base: {**extra, **base}, st.dictionaries(st.sampled_from(keys), value, max_size=5), required
    )
    return steered | json_ish(keys, words)


@FUZZ
@given(_request_body(_OPENAI_KEYS, _OPENAI_WORDS))
def test_openai_request_reader_raises_only_switchyard_errors(body: Any) -> None:
    try:
        openai.parse_request(body)
        cache_directives(body)
    except SwitchyardError:
        pass


@FUZZ
@given(_request_body(_ANTHROPIC_KEYS, _ANTHROPIC_WORDS), st.sampled_from(["", "2023-06-01", "2099-01-01", "x"]))
def test_anthropic_request_reader_raises_only_switchyard_errors(body: Any, version: str) -> None:
    headers = {"anthropic-version": version} if version else {}
    with contextlib.suppress(SwitchyardError):
        anthropic.parse_request(body, headers)


_REPLY_KEYS = [
    "id",
    "model",
    "choices",
    "message",
    "role",
    "content",
    "text",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "finish_reason",
    "index",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "created",
    "object",
    "type",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "candidates",
    "parts",
    "functionCall",
    "args",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "totalTokenCount",
    "promptFeedback",
    "blockReason",
    "modelVersion",
    "responseId",
    "thought",
]
_REPLY_WORDS = [
    "assistant",
    "message",
    "text",
    "tool_use",
    "end_turn",
    "max_tokens",
    "stop",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "model",
]


@FUZZ
@given(json_ish(_REPLY_KEYS, _REPLY_WORDS))
def test_reply_readers_raise_only_malformed_errors(raw: Any) -> None:
    for read in (
        openai.completion_from_wire,
        anthropic_wire.completion_from_wire,
        lambda value: gemini_replies.completion_from_wire(value, "gemini-x"),
    ):
        with contextlib.suppress(MalformedError):
            read(raw)


_CONFIG_KEYS = [
    "model_list",
    "model_name",
    "litellm_params",
    "model",
    "api_base",
    "api_key",
    "rpm",
    "tpm",
    "timeout",
    "model_info",
    "id",
    "max_input_tokens",
    "router_settings",
    "routing_strategy",
    "num_retries",
    "fallbacks",
    "redis_host",
    "switchyard",
    "aliases",
    "groups",
    "rules",
    "experiments",
    "residency",
    "routing",
    "guard",
    "services",
    "cache",
    "governance",
    "keys",
    "teams",
    "budgets",
    "fake_provider",
    "litellm_settings",
    "general_settings",
    "default_model",
]
_CONFIG_WORDS = [
    "openai/gpt-4o",
    "anthropic/claude",
    "gemini/gemini-2",
    "fake/echo",
    "simple-shuffle",
    "os.environ/KEY",
]


@FUZZ
@given(json_ish(_CONFIG_KEYS, _CONFIG_WORDS))
def test_config_loader_raises_only_config_errors_on_any_document(document: Any) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(yaml.safe_dump(document))


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:- \n[]{}\"'&*!|>#%@`\t,?")), max_size=60))
def test_config_loader_raises_only_config_errors_on_any_text(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text)
