"""Access tokens for Vertex AI deployments: a service-account key traded for a bearer token by google-auth.

A Vertex deployment's credential (its `api_key`, resolved from `vertex_credentials` by the credentials
module, so a rotated key file is picked up like any other key) is a service-account JSON key. google-auth
signs a JWT with the key's private key and trades it at the key's `token_uri` (or the configured override)
for an access token (the OAuth 2 JWT-bearer grant). `AccessTokens.token` answers from memory:

    fresh      more than the refresh margin left ......... returned
    expiring   within the margin, still usable ........... returned, and one refresh starts in the background
    unusable   none yet, or (nearly) expired ............. the call waits for the refresh

and each new token schedules its own refresh at the start of its margin, so a key keeps a fresh token
even between calls: after the first call of a key, no call waits on the token endpoint. A key not used
for a day is forgotten (a rotated key's old entry among them). The margin is five minutes, or half the
token's lifetime when that is shorter. google-auth's grant is blocking (it posts through
`requests`), so it runs in a worker thread; one refresh per key is in flight at a time, however many
calls ask. A refused grant is UPSTREAM_AUTH, an unreachable token endpoint UPSTREAM_CONNECT.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

import google.auth.exceptions
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import Reason, SwitchyardError

log = logging.getLogger("switchyard.services.providers")
R = errors_pb2.ErrorReason

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Refresh this long before expiry (or at half the lifetime of a shorter-lived token).
REFRESH_MARGIN_S = 300.0
# Keep refreshing a key's token in the background while the key was used this recently.
KEEP_WARM_S = 86_400.0


def _failure(reason: Reason, what: str) -> SwitchyardError:
    return SwitchyardError(reason, f"vertex_ai service account: {what}", metadata={"provider": "vertex_ai"})


def load_key(text: str, token_uri: str = "") -> service_account.Credentials:
    """Returns google-auth credentials for a service-account JSON key; raises SwitchyardError(UPSTREAM_AUTH)."""
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        raise _failure(R.ERROR_REASON_UPSTREAM_AUTH, "vertex_credentials is not a JSON key file") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise _failure(R.ERROR_REASON_UPSTREAM_AUTH, "vertex_credentials is not a service_account key")
    if token_uri:
        info = {**info, "token_uri": token_uri}
    try:
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[CLOUD_PLATFORM_SCOPE]
        )
    except (ValueError, KeyError) as exc:
        # google-auth names the missing or broken field, never the key's value.
        raise _failure(R.ERROR_REASON_UPSTREAM_AUTH, f"the key cannot be used ({exc})") from None


@dataclass
class _Token:
    """One key's credentials and the token they hold: when it expires, when to refresh it and when the key was
    last used (time.time()); `name` is the key's fingerprint, never the key."""

    name: str
    credentials: service_account.Credentials
    token: str = ""
    expires_at: float = 0.0
    refresh_at: float = 0.0
    used_at: float = 0.0
    pending: asyncio.Task[None] | None = field(default=None, repr=False)

    def usable(self, now: float) -> bool:
        """Says whether the token can still be sent: a quarter of its margin is left for the call to arrive."""
        return bool(self.token) and now < self.expires_at - (self.expires_at - self.refresh_at) / 4


class AccessTokens:
    """Bearer tokens for service-account keys, refreshed ahead of expiry; one entry per key (and token URI)."""

    def __init__(self, token_uri: str = "", clock: Callable[[], float] = time.time) -> None:
        self._token_uri = token_uri
        self._clock = clock
        self._entries: dict[str, _Token] = {}
        self._session = requests.Session()

    def current(self, key: str) -> str:
        """Returns the token last fetched for a key ("" before the first): what a request being built sends."""
        entry = self._entries.get(_fingerprint(key))
        return entry.token if entry is not None else ""

    async def token(self, key: str, timeout: float) -> str:
        """Returns a usable token for a key, waiting (at most timeout seconds) only when none is held."""
        entry = self._entry(key)
        now = self._clock()
        entry.used_at = now
        if entry.token and now < entry.refresh_at:
            return entry.token
        refresh = self._refresh(entry)
        if entry.usable(now):
            return entry.token
        try:
            await asyncio.wait_for(asyncio.shield(refresh), timeout)
        except TimeoutError:
            raise _failure(R.ERROR_REASON_UPSTREAM_TIMEOUT, f"no token within {timeout:.3f}s") from None
        return entry.token

    def _entry(self, key: str) -> _Token:
        name = _fingerprint(key)
        entry = self._entries.get(name)
        if entry is None:
            entry = _Token(name, load_key(key, self._token_uri))
            self._entries[name] = entry
        return entry

    def _keep_warm(self, name: str) -> None:
        """Refreshes a key's token ahead of its expiry while the key is in use; forgets a key unused for a day."""
        entry = self._entries.get(name)
        if entry is None or entry.pending is not None:
            return
        if self._clock() - entry.used_at > KEEP_WARM_S:
            del self._entries[name]
            return
        self._refresh(entry)

    def _refresh(self, entry: _Token) -> asyncio.Task[None]:
        """Returns the refresh in flight for an entry, starting one if there is none."""
        if entry.pending is None:
            entry.pending = asyncio.get_running_loop().create_task(self._fetch(entry))
            # When it succeeds, the next refresh is scheduled at the new token's refresh_at.
            entry.pending.add_done_callback(lambda task: _settle(entry, task))
        return entry.pending

    async def _fetch(self, entry: _Token) -> None:
        started = self._clock()
        credentials = entry.credentials
        try:
            await asyncio.to_thread(credentials.refresh, Request(self._session))
        except google.auth.exceptions.TransportError as exc:
            raise _failure(R.ERROR_REASON_UPSTREAM_CONNECT, f"cannot reach the token endpoint ({exc})") from None
        except google.auth.exceptions.RefreshError as exc:
            said = exc.args[0] if exc.args else exc
            raise _failure(R.ERROR_REASON_UPSTREAM_AUTH, f"the token endpoint refused the key ({said})") from None
        except (TypeError, ValueError, KeyError):
            # google-auth reads the answer as a JSON object holding access_token; this one was not.
            raise _failure(R.ERROR_REASON_UPSTREAM_MALFORMED, "the token endpoint answered no token") from None
        expiry = credentials.expiry
        expires_at = expiry.replace(tzinfo=UTC).timestamp() if expiry is not None else started + 3600.0
        lifetime = max(0.0, expires_at - started)
        entry.token = str(credentials.token or "")
        entry.expires_at = expires_at
        entry.refresh_at = expires_at - min(REFRESH_MARGIN_S, lifetime / 2)
        delay = max(0.0, entry.refresh_at - self._clock())
        asyncio.get_running_loop().call_later(delay, self._keep_warm, entry.name)


def _settle(entry: _Token, task: asyncio.Task[None]) -> None:
    """Clears a finished refresh; a failed background refresh is logged (a waiting call raises it itself)."""
    entry.pending = None
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("refreshing a vertex_ai access token failed: %s", error)


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
