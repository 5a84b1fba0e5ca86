"""`switchyard.responses`: how long the Responses API keeps a conversation for `previous_response_id`."""

from __future__ import annotations

from pydantic import Field

from switchyard.config.base import Section

# OpenAI keeps stored responses for 30 days.
DEFAULT_RETENTION_S = 30 * 24 * 3600


class ResponsesSection(Section):
    # retention_s: seconds a stored response (and the conversation behind it) can be retrieved or chained.
    retention_s: int = Field(default=DEFAULT_RETENTION_S, gt=0)
    # max_local: responses one router keeps in memory when no Redis is configured (the oldest go first).
    max_local: int = Field(default=10_000, gt=0)
