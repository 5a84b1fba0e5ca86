"""Quality priors for well-known models: what the `auto` policy assumes when `model_info.quality` is unset.

A coarse ranking from public leaderboards (Chatbot Arena and the usual benchmark suites, as of late
2025), scaled to [0, 1] with the strongest general models near 0.95: good enough to tell a frontier
model from a small one, not to split hairs between neighbours. Configured qualities always win; an
unknown model stays unrated (0), as before. Matched by the first prefix of the provider's model name,
case-insensitive, so dated versions ("gpt-4o-2024-08-06") find their family.
"""

from __future__ import annotations

# Longest, most specific prefixes first: "gpt-4o-mini" must not be read as "gpt-4o".
PRIORS: tuple[tuple[str, float], ...] = (
    ("gpt-4o-mini", 0.62),
    ("gpt-4.1-nano", 0.55),
    ("gpt-4.1-mini", 0.75),
    ("gpt-4.1", 0.9),
    ("gpt-4o", 0.88),
    ("gpt-4-turbo", 0.85),
    ("gpt-4", 0.8),
    ("gpt-3.5", 0.45),
    ("gpt-5-nano", 0.7),
    ("gpt-5-mini", 0.85),
    ("gpt-5", 0.97),
    ("o4-mini", 0.9),
    ("o3-mini", 0.88),
    ("o3", 0.95),
    ("o1-mini", 0.82),
    ("o1", 0.92),
    ("claude-opus-4", 0.96),
    ("claude-sonnet-4", 0.94),
    ("claude-3-7-sonnet", 0.9),
    ("claude-3-5-sonnet", 0.88),
    ("claude-3-5-haiku", 0.68),
    ("claude-haiku-4", 0.78),
    ("claude-3-opus", 0.82),
    ("claude-3-haiku", 0.52),
    ("gemini-2.5-pro", 0.95),
    ("gemini-2.5-flash-lite", 0.7),
    ("gemini-2.5-flash", 0.85),
    ("gemini-2.0-flash", 0.75),
    ("gemini-1.5-pro", 0.8),
    ("gemini-1.5-flash", 0.6),
    ("llama-3.3-70b", 0.78),
    ("llama-3.1-405b", 0.82),
    ("llama-3.1-70b", 0.75),
    ("llama-3.1-8b", 0.42),
    ("llama-3-70b", 0.7),
    ("llama-3-8b", 0.38),
    ("mixtral-8x22b", 0.62),
    ("mixtral-8x7b", 0.5),
    ("mistral-large", 0.8),
    ("mistral-medium", 0.72),
    ("mistral-small", 0.58),
    ("mistral-7b", 0.3),
    ("qwen2.5-72b", 0.8),
    ("qwen2.5-7b", 0.45),
    ("deepseek-r1", 0.92),
    ("deepseek-v3", 0.88),
    ("deepseek-chat", 0.86),
)


def prior_quality(model: str) -> float | None:
    """Returns the prior quality of a provider's model name, or None for a model this table does not know."""
    name = model.lower().rsplit("/", 1)[-1]
    return next((quality for prefix, quality in PRIORS if name.startswith(prefix)), None)
