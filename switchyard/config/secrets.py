"""Secrets named in the configuration file: LiteLLM's `os.environ/NAME` references, read where they are used."""

from __future__ import annotations

from collections.abc import Mapping

ENV_PREFIX = "os.environ/"


def resolve_secret(value: str | None, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Returns (value, missing variable name) for a literal or an `os.environ/NAME` reference."""
    if value is None or not value.startswith(ENV_PREFIX):
        return value, None
    name = value.removeprefix(ENV_PREFIX)
    found = environ.get(name)
    return (found, None) if found else (None, name)
