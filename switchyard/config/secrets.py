"""Secrets named in the configuration file, and where each one lives.

    api_key: os.environ/OPENAI_API_KEY          LiteLLM's form: an environment variable, read at start-up
    api_key: file:/run/secrets/openai/api-key   a file's content (a mounted Kubernetes or Docker secret), surrounding
                                                whitespace removed; re-read when the file changes
    api_key: vault:secret/data/openai#api_key   a field of a HashiCorp Vault KV v2 secret (mount `secret`, path
                                                `openai`, as in Vault's API); re-read every refresh interval
    api_key: aws-sm:prod/openai#api_key         AWS Secrets Manager: a field of a JSON secret, or the whole
                                                SecretString without `#field`; the id may be an ARN
    api_key: sk-...                             the key itself (tests, local fakes)

`parse_secret_ref` reads a reference; `resolve_secret` resolves a literal or an `os.environ/NAME` (what
every other section of the file accepts); `pick_field` takes a reference's field out of what a secret
manager returned. Reading files and asking secret managers is the providers service's job: it is the
only holder of provider keys. A reference's `str()` says where a key lives, never what it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ENV_PREFIX = "os.environ/"
FILE_PREFIX = "file:"
VAULT_PREFIX = "vault:"
AWS_PREFIX = "aws-sm:"

SecretSource = Literal["env", "file", "vault", "aws-sm"]
# Sources whose value can change while a service runs: they are watched, not read once.
WATCHED_SOURCES: frozenset[str] = frozenset({"file", "vault", "aws-sm"})


@dataclass(frozen=True)
class SecretRef:
    """Where one secret lives: its source, its location there (variable, path, Vault path, AWS secret id), its field."""

    source: SecretSource
    location: str
    field: str = ""

    @property
    def watched(self) -> bool:
        """Says whether the value can change at run time (a file or a secret manager), so it is re-read."""
        return self.source in WATCHED_SOURCES

    def __str__(self) -> str:
        where = f"{self.source} {self.location}"
        return f"{where}#{self.field}" if self.field else where


def parse_secret_ref(value: str | None) -> SecretRef | None:
    """Returns the reference a config value makes, None for a literal; raises ValueError for a malformed one."""
    if value is None:
        return None
    if value.startswith(ENV_PREFIX):
        name = value.removeprefix(ENV_PREFIX)
        if not name:
            raise ValueError("os.environ/ names no variable")
        return SecretRef("env", name)
    if value.startswith(FILE_PREFIX):
        path = value.removeprefix(FILE_PREFIX)
        path = path.removeprefix("//") if path.startswith("///") else path
        if not path.startswith("/"):
            raise ValueError(f"file: needs an absolute path, not {path!r}")
        return SecretRef("file", path)
    if value.startswith(VAULT_PREFIX):
        path, _, field = value.removeprefix(VAULT_PREFIX).partition("#")
        path = path.strip("/")
        if "/" not in path:
            raise ValueError(f"vault: needs <mount>/data/<path>, not {path!r}")
        return SecretRef("vault", path, field)
    if value.startswith(AWS_PREFIX):
        secret_id, _, field = value.removeprefix(AWS_PREFIX).partition("#")
        if not secret_id:
            raise ValueError("aws-sm: names no secret")
        return SecretRef("aws-sm", secret_id, field)
    return None


def vault_mount_and_path(location: str) -> tuple[str, str]:
    """Returns (mount point, secret path) of a KV v2 location: `secret/data/openai` (or `secret/openai`)."""
    mount, sep, path = location.partition("/data/")
    if sep and mount and path:
        return mount, path
    mount, _, path = location.partition("/")
    return mount, path


def pick_field(payload: str | Mapping[str, Any], ref: SecretRef) -> str:
    """Returns the secret a reference names out of what its source returned (a text, or Vault's field map).

    A text is the secret itself unless the reference names a field, then it must be a JSON object holding
    it; a field map gives the named field, or its only one. Raises ValueError naming fields, never values.
    """
    if isinstance(payload, str):
        if not ref.field:
            return _non_empty(payload.strip(), ref)
        try:
            fields = json.loads(payload)
        except json.JSONDecodeError:
            fields = None
        if not isinstance(fields, dict):
            raise ValueError(f"{ref.source} {ref.location} is not a JSON object, so it has no field {ref.field!r}")
        payload = fields
    if not ref.field:
        if len(payload) != 1:
            raise ValueError(f"{ref} has {len(payload)} fields: name one with #field")
        value = next(iter(payload.values()))
    elif ref.field in payload:
        value = payload[ref.field]
    else:
        names = ", ".join(sorted(str(name) for name in payload)[:10]) or "none"
        raise ValueError(f"{ref.source} {ref.location} has no field {ref.field!r} (its fields: {names})")
    if not isinstance(value, str):
        raise ValueError(f"{ref} is a {type(value).__name__}, not a string")
    return _non_empty(value.strip(), ref)


def _non_empty(value: str, ref: SecretRef) -> str:
    if not value:
        raise ValueError(f"{ref} is empty")
    return value


def resolve_secret(value: str | None, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Returns (value, missing variable name) for a literal or an `os.environ/NAME` reference."""
    if value is None or not value.startswith(ENV_PREFIX):
        return value, None
    name = value.removeprefix(ENV_PREFIX)
    found = environ.get(name)
    return (found, None) if found else (None, name)
