"""The cost dashboard: a static page served by the edge from package data, drawing the admin API's data.

The page itself is public and holds no data; it asks for the admin key, keeps it in the tab's
sessionStorage and sends it as `Authorization` on its own fetches of /spend/report, /spend/logs and
/budget/list, which the router answers only for the master key. Everything it needs ships here
(no CDN): one HTML shell, one script drawing SVG charts, one stylesheet.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from switchyard.services.edge.asgi import Send, respond

_ASSETS = {
    "/dashboard": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard/": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard/app.js": ("app.js", b"text/javascript; charset=utf-8"),
    "/dashboard/style.css": ("style.css", b"text/css; charset=utf-8"),
}
# Only the page's own files run: no inline script, no other origin, never inside a frame.
_SECURITY = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]

PATHS = frozenset(_ASSETS)


@cache
def _asset(name: str) -> bytes:
    return resources.files(__name__).joinpath(name).read_bytes()


async def serve(path: str, method: str, send: Send) -> None:
    """Answers GET (or HEAD) of one dashboard file."""
    if method not in ("GET", "HEAD"):
        await respond(send, 405, [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")], b"Use GET.\n")
        return
    name, content_type = _ASSETS[path]
    body = _asset(name)
    await respond(send, 200, [(b"content-type", content_type), *_SECURITY], b"" if method == "HEAD" else body)
