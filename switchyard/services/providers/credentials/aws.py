"""AWS credentials for Bedrock deployments: where they come from, and SigV4 signing with botocore.

A Bedrock deployment takes LiteLLM's `litellm_params` names: `aws_access_key_id`,
`aws_secret_access_key`, `aws_session_token` (each a literal, `os.environ/NAME` or a watched
reference such as `file:` or `aws-sm:`), `aws_region_name` (else `region_name`, AWS_REGION,
AWS_DEFAULT_REGION, us-east-1), `aws_profile_name` and `aws_bedrock_runtime_endpoint`. When no key is
configured, botocore's environment and shared-file providers are asked (AWS_ACCESS_KEY_ID, ...,
~/.aws/credentials and ~/.aws/config under AWS_PROFILE); the instance metadata service is not, so
start-up never waits on a network call. The secret access key is the deployment's `api_key` (so the
key ring refreshes it and error messages scrub it); the rest is an `AwsIdentity`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ConfigProvider, Credentials, EnvProvider, SharedCredentialProvider
from pydantic import BaseModel

from switchyard.config.secrets import SecretRef
from switchyard.wire.bedrock.vocabulary import DEFAULT_REGION, SERVICE

# (value, where it comes from, why it is missing) for one configured secret, as the providers config resolves it.
KeyResolver = Callable[[str | None], tuple[str | None, SecretRef | None, str]]


@dataclass(frozen=True)
class AwsIdentity:
    """The access key id, session token and region a request is signed with (the secret is apart)."""

    access_key_id: str
    region: str = DEFAULT_REGION
    session_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class AwsCredentials:
    """What a Bedrock deployment's credentials resolved to; `missing` says why there are none."""

    identity: AwsIdentity | None
    endpoint: str
    secret_access_key: str | None = field(default=None, repr=False)
    secret_ref: SecretRef | None = None
    missing: str = ""


def runtime_endpoint(region: str) -> str:
    """Returns the Bedrock Runtime endpoint of a region."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def region_of(params: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """Returns the region a deployment's requests are signed for."""
    return str(
        params.get("aws_region_name")
        or params.get("region_name")
        or environ.get("AWS_REGION")
        or environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )


def _default_chain(environ: Mapping[str, str], profile: str) -> Credentials | None:
    """Returns credentials from the environment or the shared files, without the metadata service."""
    env = dict(environ)
    profile = profile or env.get("AWS_PROFILE") or "default"
    home = os.path.expanduser
    providers = [
        EnvProvider(environ=env),
        SharedCredentialProvider(
            creds_filename=home(env.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")), profile_name=profile
        ),
        ConfigProvider(config_filename=home(env.get("AWS_CONFIG_FILE", "~/.aws/config")), profile_name=profile),
    ]
    for provider in providers:
        found = provider.load()
        if found is not None:
            return found
    return None


def resolve_aws(litellm_params: BaseModel, environ: Mapping[str, str], key: KeyResolver) -> AwsCredentials:
    """Returns the credentials a Bedrock deployment's litellm_params name (or the default chain finds)."""
    params = {**(litellm_params.model_extra or {}), "region_name": getattr(litellm_params, "region_name", None)}
    region = region_of(params, environ)
    endpoint = str(params.get("aws_bedrock_runtime_endpoint") or runtime_endpoint(region))
    if params.get("aws_access_key_id") is None and params.get("aws_secret_access_key") is None:
        found = _default_chain(environ, str(params.get("aws_profile_name") or ""))
        if found is None:
            return AwsCredentials(None, endpoint, missing="no AWS credentials configured or found in the environment")
        frozen = found.get_frozen_credentials()
        identity = AwsIdentity(frozen.access_key, region, frozen.token or "")
        return AwsCredentials(identity, endpoint, frozen.secret_key)
    key_id, _, missing_id = key(params.get("aws_access_key_id"))
    secret, secret_ref, missing_secret = key(params.get("aws_secret_access_key"))
    token, _, missing_token = key(params.get("aws_session_token"))
    missing = missing_id or missing_secret or missing_token
    if not missing and not (key_id and secret):
        missing = "aws_access_key_id and aws_secret_access_key go together"
    if missing:
        return AwsCredentials(None, endpoint, missing=missing)
    return AwsCredentials(AwsIdentity(str(key_id), region, token or ""), endpoint, secret, secret_ref)


def sign_v4(
    method: str, url: str, body: bytes, headers: Mapping[str, str], *, identity: AwsIdentity, secret_access_key: str
) -> dict[str, str]:
    """Returns headers with the SigV4 signature (Authorization, X-Amz-Date, X-Amz-Security-Token) added."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    credentials = Credentials(identity.access_key_id, secret_access_key, identity.session_token or None)
    SigV4Auth(credentials, SERVICE, identity.region).add_auth(request)
    return dict(request.headers.items())
