"""The fake Vertex AI's OAuth 2 side: service-account keys, the JWT-bearer grant, and the access tokens it issues.

`new_service_account_key` makes a key file's content (an RSA key pair, as the Cloud console hands out);
`ServiceAccount.of_key` is what the fake trusts of it, its public key. `TokenIssuer.grant` answers a
`POST /token` as Google's token endpoint does: it checks the assertion's RS256 signature against the
issuing account's public key, its audience (the endpoint itself or Google's), lifetime and scope, and issues an
opaque access token with `expires_in`. `TokenIssuer.check` says whether a bearer token is one it issued
and has not expired, with Google's 401 body when it is not.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth addresses every assertion to Google's token endpoint, wherever it posts it; both are accepted.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Google accepts assertions living at most an hour, and allows this much clock skew.
MAX_ASSERTION_S = 3600
SKEW_S = 300
_SEE = "See https://developers.google.com/identity/sign-in/web/devconsole-project."
MISSING_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or "
    f"other valid authentication credential. {_SEE}"
)
INVALID_CREDENTIAL = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    f"valid authentication credential. {_SEE}"
)


def new_service_account_key(project: str, token_uri: str, name: str = "switchyard") -> dict[str, str]:
    """Returns a new service-account JSON key (a fresh 2048-bit RSA key pair) whose grants go to token_uri."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    email = f"{name}@{project}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }


@dataclass(frozen=True)
class ServiceAccount:
    """What the token endpoint knows of an account: its email, public key and the project it may use."""

    email: str
    public_key: rsa.RSAPublicKey
    project: str

    @classmethod
    def of_key(cls, key: Mapping[str, Any]) -> ServiceAccount:
        """Returns the account a JSON key belongs to, with the public half of its private key."""
        private = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("a service-account key is an RSA key")
        return cls(key["client_email"], private.public_key(), key["project_id"])


@dataclass
class Issued:
    """An access token: whose it is and when it stops being accepted (time.monotonic())."""

    account: ServiceAccount
    expires_at: float


class GrantError(Exception):
    """A refused grant: the OAuth error code and its description, as the token endpoint writes them."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def body(self) -> bytes:
        return orjson.dumps({"error": self.code, "error_description": self.description})


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenIssuer:
    """Issues access tokens for JWT-bearer grants of trusted accounts, and checks bearer tokens."""

    audience: str
    lifetime_s: float = 3600.0
    accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    issued: dict[str, Issued] = field(default_factory=dict)
    grants: int = 0
    refused: int = 0

    def trust(self, accounts: Iterable[ServiceAccount]) -> None:
        """Accepts grants signed by these accounts' keys."""
        for account in accounts:
            self.accounts[account.email] = account

    def grant(self, form_body: bytes) -> bytes:
        """Returns the token response to a form-encoded grant; raises GrantError."""
        form = {k: v[0] for k, v in parse_qs(form_body.decode(errors="replace")).items()}
        if form.get("grant_type") != JWT_BEARER:
            self.refused += 1
            raise GrantError("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        try:
            account = self._verify(form.get("assertion", ""))
        except GrantError:
            self.refused += 1
            raise
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        self.issued[token] = Issued(account, time.monotonic() + self.lifetime_s)
        self.grants += 1
        return orjson.dumps({"access_token": token, "expires_in": round(self.lifetime_s), "token_type": "Bearer"})

    def _verify(self, assertion: str) -> ServiceAccount:
        try:
            head, body, signature = assertion.split(".")
            header, claims = orjson.loads(_segment(head)), orjson.loads(_segment(body))
            signed = _segment(signature)
        except (ValueError, orjson.JSONDecodeError):
            raise GrantError("invalid_grant", "Invalid JWT: not a signed JWT.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
            raise GrantError("invalid_grant", "Invalid JWT: only RS256 assertions are accepted.")
        account = self.accounts.get(str(claims.get("iss")))
        if account is None:
            raise GrantError("invalid_grant", "Invalid grant: account not found")
        try:
            account.public_key.verify(signed, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise GrantError("invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("aud") not in (self.audience, GOOGLE_TOKEN_URI):
            raise GrantError("invalid_grant", f"Invalid JWT: the audience must be {self.audience}.")
        self._check_times(claims)
        if CLOUD_PLATFORM_SCOPE not in str(claims.get("scope", "")).split():
            raise GrantError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        return account

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        valid = isinstance(iat, int) and isinstance(exp, int) and iat - SKEW_S <= now <= exp + SKEW_S
        if not valid or exp - iat > MAX_ASSERTION_S:  # type: ignore[operator]
            raise GrantError(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim.",
            )

    def check(self, authorization: str | None, project: str) -> tuple[int, bytes] | None:
        """Returns None for a live token of an account of project, else (status, Google's error body)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 401, _auth_error(401, MISSING_CREDENTIAL, "CREDENTIALS_MISSING")
        issued = self.issued.get(token)
        if issued is None:
            return 401, _auth_error(401, INVALID_CREDENTIAL, "ACCESS_TOKEN_TYPE_UNSUPPORTED")
        if time.monotonic() >= issued.expires_at:
            return 401, _auth_error(401, INVALID_CREDENTIAL, "ACCESS_TOKEN_EXPIRED")
        if project and issued.account.project != project:
            message = (
                f"Permission 'aiplatform.endpoints.predict' denied on resource (or it may not exist) in {project}."
            )
            return 403, _auth_error(403, message, "IAM_PERMISSION_DENIED")
        return None


def _auth_error(status: int, message: str, reason: str) -> bytes:
    """Returns Google's error body for a refused credential, with an ErrorInfo saying why."""
    rpc = "UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "aiplatform.googleapis.com", "method": "google.cloud.aiplatform.v1.PredictionService"},
    }
    return orjson.dumps({"error": {"code": status, "message": message, "status": rpc, "details": [info]}})
