"""What every request must be before a route reads it: from an allowed origin, and JSON where JSON is due.

With auth off (the embedded default) anyone who can reach the port may call the gateway, and a
browser page on any site can reach a gateway on the user's own machine. A cross-site page can send
a POST without the browser asking first only with a "simple" content type (text/plain, a form) and
no custom header; so JSON endpoints refuse any other declared content type (415), and any request
whose `Origin` names another site is refused (403) unless the operator allows that origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from switchyard.common.v1 import errors_pb2
from switchyard.runtime.errors import SwitchyardError

ANY_ORIGIN = "*"
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class Guards:
    """The origins allowed besides the gateway's own (`*` allows any), as `scheme://host[:port]`."""

    allowed_origins: frozenset[str] = frozenset()

    @classmethod
    def from_list(cls, origins: str) -> Guards:
        """Returns the guards of a comma-separated origin list (SWITCHYARD_EDGE_ALLOWED_ORIGINS)."""
        return cls(frozenset(_normal(o) for o in origins.split(",") if o.strip()))

    def check_origin(self, headers: dict[str, str]) -> None:
        """Raises PERMISSION_DENIED (403) for a request a page on another, not allowed, origin sent.

        Requests without `Origin` (SDKs, curl, servers) pass; a browser sends it on every POST, so a
        cross-site form or fetch is stopped before it is read.
        """
        origin = headers.get("origin", "").strip()
        if not origin or ANY_ORIGIN in self.allowed_origins:
            return
        normal = _normal(origin)
        if normal in self.allowed_origins or _same_origin(normal, headers.get("host", "")):
            return
        raise SwitchyardError(
            errors_pb2.ERROR_REASON_PERMISSION_DENIED,
            f"Requests from the origin {origin[:100]!r} are not allowed; "
            "an operator may allow it with SWITCHYARD_EDGE_ALLOWED_ORIGINS.",
            param="origin",
        )


def check_json_content_type(headers: dict[str, str]) -> None:
    """Raises a 415 when a request with a body does not declare it JSON (application/json or */*+json)."""
    declared = headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    if not media and not _has_body(headers):
        return
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    shown = f"not {media[:60]!r}" if media else "and none was given"
    raise SwitchyardError(
        errors_pb2.ERROR_REASON_INVALID_REQUEST,
        f"The body must be JSON with Content-Type: application/json, {shown}.",
        http_status=415,
        param="content-type",
    )


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length", "").strip()
    return "transfer-encoding" in headers or (length not in ("", "0"))


def _normal(origin: str) -> str:
    """Returns an origin as `scheme://host[:port]`, lower-case, without a default port or a trailing slash."""
    text = origin.strip().lower().rstrip("/")
    if text in (ANY_ORIGIN, "null"):
        return text
    parts = urlsplit(text)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return text
    shown = "" if port is None or str(port) == _DEFAULT_PORTS.get(parts.scheme) else f":{port}"
    return f"{parts.scheme}://{host}{shown}"


def _same_origin(origin: str, host_header: str) -> bool:
    """Says whether an origin is the gateway's own: its host and port are those of the request's Host."""
    if origin == "null" or not host_header:
        return False
    scheme = origin.split("://", 1)[0]
    return origin == _normal(f"{scheme}://{host_header.strip()}")
