"""Where watched provider keys are read: mounted files, HashiCorp Vault (KV v2), AWS Secrets Manager.

Each source reads one location and returns what is there: a file's text, a Vault secret's field map,
a SecretString. Reads block (hvac and boto3 are synchronous clients), so the key ring runs them in a
worker thread under a timeout. hvac and boto3 are dependencies of the package but are imported on
first use, in that thread: a service that names no `vault:` or `aws-sm:` key never pays their import.
A failed read raises SourceError, whose message is safe to log: it names the location and the cause,
never a secret or a token.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from switchyard.config.secrets import vault_mount_and_path
from switchyard.services.providers.adapters.errors import redact

if TYPE_CHECKING:
    import hvac
    from mypy_boto3_secretsmanager import SecretsManagerClient

# What a source returns: a text (the secret, or a JSON object of fields) or a field map (Vault).
Payload = str | Mapping[str, Any]
# A file's identity and version: a Kubernetes secret update swaps a symlink, which changes all three.
Stamp = tuple[int, int, int]
# A client's own timeout is this much longer than the ring's deadline for a read, so that a silent
# secret manager is always reported by the ring ("no answer within 2s"), never by whichever of the
# two equal deadlines happens to fire first under load.
_CLIENT_GRACE_S = 1.0


class SourceError(Exception):
    """A read that failed; the message names the location and the cause, never a secret."""


class Source(Protocol):
    """Reads one kind of location (blocking: called in a worker thread)."""

    name: str

    def read(self, location: str) -> Payload:
        """Returns what is stored at location; raises SourceError."""
        ...


def file_stamp(path: str) -> Stamp | None:
    """Returns (inode, mtime, size) of the file path leads to (symlinks followed), None when it is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def read_secret_file(path: str) -> str:
    """Returns a secret file's text; raises SourceError (unreadable, not UTF-8)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text") from None


class FileSource:
    """Mounted secret files (`file:/path`)."""

    name = "file"

    def read(self, location: str) -> Payload:
        return read_secret_file(location)


class VaultSource:
    """HashiCorp Vault KV v2 (`vault:<mount>/data/<path>#field`), through hvac.

    The token is `token`, or the content of `token_file` re-read on every read (a Vault Agent sink, a
    projected token: the agent renews it there).
    """

    name = "vault"

    def __init__(
        self, addr: str, token: str, *, token_file: str = "", namespace: str = "", cacert: str = "", timeout: float
    ) -> None:
        self._addr = addr
        self._token = token
        self._token_file = token_file
        self._namespace = namespace or None
        self._verify: str | bool = cacert or True
        self._timeout = timeout
        self._client: hvac.Client | None = None
        self._lock = threading.Lock()

    def _current_token(self) -> str:
        if not self._token_file:
            return self._token
        return read_secret_file(self._token_file).strip()

    def _vault(self, token: str) -> hvac.Client:
        with self._lock:
            if self._client is None:
                import hvac

                self._client = hvac.Client(
                    url=self._addr,
                    token=token,
                    namespace=self._namespace,
                    verify=self._verify,
                    timeout=math.ceil(self._timeout + _CLIENT_GRACE_S),
                )
            self._client.token = token
            return self._client

    def read(self, location: str) -> Payload:
        if not self._addr:
            raise SourceError("no Vault address: set VAULT_ADDR (or SWITCHYARD_PROVIDERS_VAULT_ADDR)")
        token = self._current_token()
        if not token:
            raise SourceError("no Vault token: set VAULT_TOKEN or SWITCHYARD_PROVIDERS_VAULT_TOKEN_FILE")
        import hvac.exceptions
        import requests

        mount, path = vault_mount_and_path(location)
        try:
            reply = self._vault(token).secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.VaultError as exc:
            said = redact(str(exc), token) or "no message"
            raise SourceError(f"Vault answered {type(exc).__name__} for {location}: {said}") from None
        except requests.RequestException as exc:
            raise SourceError(f"cannot reach Vault at {self._addr}: {type(exc).__name__}") from None
        data = reply.get("data") if isinstance(reply, dict) else None
        fields = data.get("data") if isinstance(data, dict) else None
        if not isinstance(fields, dict):
            raise SourceError(f"Vault's reply for {location} is not a KV v2 secret")
        return fields


def region_of(secret_id: str) -> str | None:
    """Returns the region an ARN names (arn:aws:secretsmanager:REGION:...), None for a plain name."""
    parts = secret_id.split(":")
    if not secret_id.startswith("arn:") or len(parts) < 4:
        return None
    return parts[3] or None


class AwsSecretsSource:
    """AWS Secrets Manager (`aws-sm:<name or ARN>#field`), through boto3 and its usual credential chain
    (environment, profile, web identity such as EKS IRSA, instance role)."""

    name = "aws-sm"

    def __init__(self, region: str, endpoint_url: str, *, timeout: float) -> None:
        self._region = region or None
        self._endpoint_url = endpoint_url or None
        self._timeout = timeout
        self._clients: dict[str | None, SecretsManagerClient] = {}
        self._lock = threading.Lock()

    def _secrets(self, region: str | None) -> SecretsManagerClient:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=self._timeout + _CLIENT_GRACE_S,
                    read_timeout=self._timeout + _CLIENT_GRACE_S,
                    retries={"max_attempts": 2, "mode": "standard"},
                )
                session = boto3.session.Session()
                client = session.client(
                    "secretsmanager", region_name=region, endpoint_url=self._endpoint_url, config=config
                )
                self._clients[region] = client
            return client

    def read(self, location: str) -> Payload:
        from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

        try:
            reply = self._secrets(region_of(location) or self._region).get_secret_value(SecretId=location)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            said = redact(str(error.get("Message") or ""), None) or "no message"
            raise SourceError(f"AWS Secrets Manager answered {error.get('Code', '?')} for {location}: {said}") from None
        except NoRegionError:
            raise SourceError("no AWS region: set AWS_REGION (or name the secret by its ARN)") from None
        except BotoCoreError as exc:
            raise SourceError(f"cannot reach AWS Secrets Manager: {redact(str(exc), None)}") from None
        text = reply.get("SecretString")
        if text is None and "SecretBinary" in reply:
            try:
                text = bytes(reply["SecretBinary"]).decode()
            except UnicodeDecodeError:
                raise SourceError(f"{location} is binary, not text") from None
        if text is None:
            raise SourceError(f"{location} has no SecretString")
        return text


def build_sources(
    *,
    vault_addr: str = "",
    vault_token: str = "",
    vault_token_file: str = "",
    vault_namespace: str = "",
    vault_cacert: str = "",
    aws_region: str = "",
    aws_endpoint_url: str = "",
    timeout: float = 5.0,
) -> dict[str, Source]:
    """Returns a source for each watched kind of reference (file, vault, aws-sm)."""
    return {
        "file": FileSource(),
        "vault": VaultSource(
            vault_addr,
            vault_token,
            token_file=vault_token_file,
            namespace=vault_namespace,
            cacert=vault_cacert,
            timeout=timeout,
        ),
        "aws-sm": AwsSecretsSource(aws_region, aws_endpoint_url, timeout=timeout),
    }
