"""Fake upstream providers: real HTTP servers speaking each vendor's wire format, scriptable per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchyard.fakes.openai_fake import FakeOpenAI, FakeOptions

__all__ = ["FakeOpenAI", "FakeOptions"]


def __getattr__(name: str) -> Any:
    # Imported on first use so `python -m switchyard.fakes.openai_fake` runs the module only once.
    if name in __all__:
        from switchyard.fakes import openai_fake

        return getattr(openai_fake, name)
    raise AttributeError(name)
