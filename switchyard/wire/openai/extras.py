"""`ChatRequest.extra`: the provider-specific parameters a request may carry beyond the fields it models.

`extra` is an allow-list, not a pass-through. A parameter is accepted there only when it is named
below, by the wire format that takes it; anything else is refused with INVALID_REQUEST naming the
parameter, on both doors (the edge for the top-level keys of an HTTP body, the router for a gRPC
caller's `extra`). A field the request already models (`model`, `messages`, `tools`, `max_tokens`,
`n`, `stream`, ...) is refused there with its own message: what `extra` carries is merged into the
upstream body, and a copy of a modelled field in it would override what the guard, the PII scan,
the key's model permissions and the budget estimate were applied to.

Why named parameters rather than "anything not a modelled field": a deny-list cannot know the next
vendor field that carries a prompt (vLLM's `documents`, `chat_template`), multiplies the output
(`best_of`, `use_beam_search`) or is billed at a price the router does not know (`audio`,
`web_search_options`); and what counts as a modelled field differs per vendor (Anthropic's `system`,
Gemini's `contents`). A new parameter is one line here.

The router cannot know the wire format when it checks a request (the deployment is chosen later,
and a fallback may speak another format), so the front door accepts the union; each adapter then
takes only its own: the OpenAI-compatible body merges `OPENAI_COMPATIBLE`, the Anthropic adapter
reads `top_k`, Gemini none.
"""

from __future__ import annotations

from collections.abc import Iterable

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError

# OpenAI Chat Completions parameters without a ChatRequest field whose cost shows in the usage the
# router prices (predicted outputs are billed as completion tokens; the classifier reads `prediction`).
OPENAI = frozenset({"prediction", "verbosity", "prompt_cache_key", "safety_identifier"})
# Sampling and decoding parameters OpenAI-compatible servers (vLLM, TGI, llama.cpp) take; none of them
# adds prompt text or output beyond max_tokens per choice.
OPENAI_SERVERS = frozenset(
    {
        "top_k",
        "min_p",
        "repetition_penalty",
        "length_penalty",
        "min_tokens",
        "ignore_eos",
        "stop_token_ids",
        "bad_words",
        "allowed_token_ids",
        "skip_special_tokens",
        "spaces_between_special_tokens",
        "include_stop_str_in_output",
        "truncate_prompt_tokens",
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "guided_decoding_backend",
        "guided_whitespace_pattern",
        "structured_outputs",
    }
)
# What an OpenAI-format body (OpenAI, vLLM and other compatible servers) merges from `extra`.
OPENAI_COMPATIBLE = OPENAI | OPENAI_SERVERS
# What the Anthropic Messages adapter reads from `extra`.
ANTHROPIC = frozenset({"top_k"})
# Everything the front door accepts in `extra`.
ALLOWED = OPENAI_COMPATIBLE | ANTHROPIC

# The OpenAI Chat Completions fields a ChatRequest models (the edge reads each into its own field), and
# LiteLLM's per-request cache controls, which the edge reads and never forwards to a provider.
REQUEST_FIELDS = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "temperature",
        "top_p",
        "n",
        "stop",
        "seed",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "metadata",
        "stream",
        "stream_options",
        "store",
        "service_tier",
        "reasoning_effort",
        "cache",
    }
)
# Fields a ChatRequest models, and the other vendors' names for a prompt, tools or the model: in
# `extra` each would override what Switchyard checked.
MODELLED = REQUEST_FIELDS | frozenset(
    {
        "functions",
        "function_call",
        "prompt",
        "input",
        "instructions",
        "system",
        "contents",
        "systemInstruction",
        "system_instruction",
        "generationConfig",
        "generation_config",
        "stop_sequences",
    }
)


def check_extra(names: Iterable[str], *, prefix: str = "extra.") -> None:
    """Raises INVALID_REQUEST naming the first parameter `extra` may not carry.

    `prefix` is how the parameter is named to the caller: "extra." for a gRPC caller's `extra`, ""
    for the top-level keys of an HTTP body that have no field of their own.
    """
    for name in sorted(names):
        if name in ALLOWED:
            continue
        param = f"{prefix}{name}"
        if name in MODELLED:
            message = (
                f"Invalid parameter '{param}': the request models '{name}' (or its equivalent) itself; "
                "extra carries provider-specific parameters only and may not override a request field."
            )
        else:
            message = (
                f"Unrecognized request argument supplied: '{param}'. Provider-specific parameters allowed: "
                + ", ".join(sorted(ALLOWED))
                + "."
            )
        raise SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


def allowed_extras(extra: dict[str, object], allowed: frozenset[str]) -> dict[str, object]:
    """Returns the entries of `extra` a wire format takes (a second line behind the front door's check)."""
    return {name: value for name, value in extra.items() if name in allowed}
