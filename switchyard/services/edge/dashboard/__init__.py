"""The dashboard: static pages served by the edge from package data, drawing the admin API's data.

The pages themselves are public and hold no data; they ask for the admin key, keep it in the tab's
sessionStorage and send it as `Authorization` on their own fetches (costs: /spend/report,
/spend/logs and /budget/list; quality: /quality and /experiments/{name}/report), which the router
answers only for the master key. Everything they need ships here (no CDN): an HTML shell and a
script per page (/dashboard, /dashboard/quality), the script they share, one stylesheet.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from switchyard.services.edge.asgi import Send, respond

_ASSETS = {
    "/dashboard": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard/": ("index.html", b"text/html; charset=utf-8"),
    "/dashboard/quality": ("quality.html", b"text/html; charset=utf-8"),
    "/dashboard/common.js": ("common.js", b"text/javascript; charset=utf-8"),
    "/dashboard/app.js": ("app.js", b"text/javascript; charset=utf-8"),
    "/dashboard/quality.js": ("quality.js", b"text/javascript; charset=utf-8"),
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
