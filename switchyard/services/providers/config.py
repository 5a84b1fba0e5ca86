"""The providers service's settings, and the one place that resolves provider credentials.

`resolve_deployments` turns the config's model_list into Deployments with their `api_key` and
`api_base` resolved: literals, `os.environ/NAME` from the environment, and the watched references
(`file:`, `vault:`, `aws-sm:`, see switchyard.config.secrets) through a key lookup, the running
service's KeyRing (`credentials.ring`), or `read_files` for a one-off resolution such as
`switchyard config check`. A key that is missing (a variable not set, a file not readable, a secret
manager that has not answered) is logged by where it lives, never by value, and makes that deployment
unavailable instead of failing start-up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchyard.config import DEFAULT_API_BASES, Config, ModelEntry, resolve_secret
from switchyard.config.secrets import SecretRef, parse_secret_ref, pick_field
from switchyard.runtime.pricing import prices_of
from switchyard.runtime.settings import ServiceSettings
from switchyard.services.providers.adapters import SUPPORTED_PROVIDERS
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.adapters.vertex import PROVIDER as VERTEX
from switchyard.services.providers.adapters.vertex import api_base_for, vertex_target
from switchyard.services.providers.credentials.aws import resolve_aws
from switchyard.services.providers.credentials.sources import SourceError, read_secret_file

log = logging.getLogger("switchyard.services.providers")

# Returns (the key a watched reference names, "") or (None, why it is missing).
KeyLookup = Callable[[SecretRef], tuple[str | None, str]]


class ProviderSettings(ServiceSettings):
    """Settings of the providers service, read from SWITCHYARD_PROVIDERS_* variables (and Vault's and AWS's own)."""

    model_config = SettingsConfigDict(
        env_prefix="SWITCHYARD_PROVIDERS_", extra="ignore", frozen=True, populate_by_name=True
    )

    port: int = Field(default=50054, ge=0, le=65535)
    # metrics_port serves Prometheus /metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = Field(default=9094, ge=0, le=65535)
    # Pool limits of the one httpx client per upstream base URL.
    max_connections: int = Field(default=1000, gt=0)
    max_keepalive_connections: int = Field(default=200, ge=0)
    # integrity_strict makes every integrity violation of a reply fail the call (a failover that counts
    # toward the deployment's circuit); off, an unexpected model name or missing usage is counted and served.
    integrity_strict: bool = False

    # Watched keys: how often a `file:` key's file is checked for a change, how often `vault:` and
    # `aws-sm:` keys are read again, how soon a failed read is retried, and the bound of one read (also
    # of the wait for all of them at start-up). Seconds.
    secret_file_poll_s: float = Field(default=1.0, gt=0)
    secret_refresh_s: float = Field(default=60.0, gt=0)
    secret_retry_s: float = Field(default=10.0, gt=0)
    secret_timeout_s: float = Field(default=5.0, gt=0)
    # HashiCorp Vault, under Vault's own variable names; the token file (a Vault Agent sink) is re-read
    # before every read and wins over the token.
    vault_addr: str = Field(default="", validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_VAULT_ADDR", "VAULT_ADDR"))
    vault_token: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_VAULT_TOKEN", "VAULT_TOKEN")
    )
    vault_token_file: str = Field(default="", validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_VAULT_TOKEN_FILE"))
    vault_namespace: str = Field(
        default="", validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_VAULT_NAMESPACE", "VAULT_NAMESPACE")
    )
    vault_cacert: str = Field(
        default="", validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_VAULT_CACERT", "VAULT_CACERT")
    )
    # AWS Secrets Manager: the region (an ARN's own wins) and an endpoint override (a VPC endpoint, a
    # test server); credentials come from boto3's usual chain (environment, profile, web identity, role).
    aws_region: str = Field(
        default="", validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
    )
    aws_endpoint_url: str = Field(
        default="",
        validation_alias=AliasChoices("SWITCHYARD_PROVIDERS_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    )


def read_files(ref: SecretRef) -> tuple[str | None, str]:
    """A KeyLookup for a one-off resolution: reads `file:` keys now; secret managers are read by the running service."""
    if ref.source != "file":
        return None, f"its key comes from {ref}, which the running providers service reads"
    try:
        return pick_field(read_secret_file(ref.location), ref), ""
    except (SourceError, ValueError) as exc:
        return None, str(exc)


def _key(value: str | None, environ: Mapping[str, str], keys: KeyLookup) -> tuple[str | None, SecretRef | None, str]:
    """Returns (key, where it comes from, why it is missing) for a litellm_params.api_key value."""
    try:
        ref = parse_secret_ref(value)
    except ValueError as exc:
        return None, None, f"api_key: {exc}"
    if ref is None:
        return value, None, ""
    if ref.source == "env":
        found = environ.get(ref.location)
        return (found, ref, "") if found else (None, ref, f"environment variable {ref.location} is not set")
    key, why = keys(ref)
    return key, ref, why


def _deployment(
    entry: ModelEntry, config: Config, environ: Mapping[str, str], keys: KeyLookup, quiet: bool
) -> Deployment:
    params = entry.litellm_params
    provider, deployment_id = entry.provider, entry.deployment_id
    vertex = vertex_target(params.model_extra or {}, params.api_key, environ) if provider == VERTEX else None
    api_key, key_ref, missing_key = _key(vertex.credentials if vertex else params.api_key, environ, keys)
    api_base, missing_base = resolve_secret(params.api_base, environ)
    aws = resolve_aws(params, environ, lambda value: _key(value, environ, keys)) if provider == "bedrock" else None
    if aws is not None:
        api_key, key_ref, missing_key = aws.secret_access_key, aws.secret_ref, aws.missing
        api_base = api_base or aws.endpoint
    default_base = api_base_for(vertex.location) if vertex else DEFAULT_API_BASES.get(provider, "")
    api_base = (api_base or default_base).rstrip("/")
    reason = (vertex.missing if vertex else "") or missing_key
    reason = reason or (f"environment variable {missing_base} is not set" if missing_base else "")
    if reason:
        if not quiet:
            log.warning("deployment %s (%s) is unavailable: %s", deployment_id, entry.model_name, reason)
    elif provider not in SUPPORTED_PROVIDERS:
        reason = f"no adapter for the {provider} wire format yet"
    elif not api_base:
        reason = "no api_base configured"
    info = entry.model_info
    return Deployment(
        id=deployment_id,
        group=entry.model_name,
        provider=provider,
        model=entry.upstream_model,
        api_base=api_base,
        api_key=api_key,
        available=not reason,
        unavailable_reason=reason,
        timeout=params.timeout or config.router_settings.timeout,
        api_version=str((params.model_extra or {}).get("api_version") or ""),
        prices=prices_of(entry),
        key_ref=key_ref,
        max_input_tokens=info.max_input_tokens or info.max_tokens or 0,
        max_output_tokens=info.max_output_tokens or info.max_tokens or 0,
        aws=aws.identity if aws else None,
        project=vertex.project if vertex else "",
        location=vertex.location if vertex else "",
    )


def resolve_deployments(
    config: Config, environ: Mapping[str, str] | None = None, keys: KeyLookup = read_files, *, quiet: bool = False
) -> list[Deployment]:
    """Returns every configured deployment with its credentials resolved from environ (os.environ) and keys.

    Each deployment left without its key is logged (unless quiet: the caller reports changes itself).
    """
    env = os.environ if environ is None else environ
    return [_deployment(entry, config, env, keys, quiet) for entry in config.model_list]
