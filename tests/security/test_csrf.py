"""With auth off a page on any site can reach a gateway on the user's machine: JSON endpoints refuse a
non-JSON body (415: the "simple" content types a browser sends cross-site without asking), and a request
whose Origin is another site is refused (403) unless the operator allows that origin."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import ALLOWED_ORIGIN
from tests.support import Mesh

pytestmark = pytest.mark.mesh

CHAT = b'{"model": "default", "messages": [{"role": "user", "content": "csrf probe"}]}'
MESSAGES = b'{"model": "default", "max_tokens": 16, "messages": [{"role": "user", "content": "csrf probe"}]}'


def _post(mesh: Mesh, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(f"{mesh.edge_url}{path}", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
)
def test_a_chat_body_a_browser_may_send_cross_site_is_refused_with_415(open_mesh: Mesh, content_type: str) -> None:
    with open_mesh.fake_admin() as fake:
        headers = {"content-type": content_type} if content_type else {}
        reply = httpx.post(f"{open_mesh.edge_url}/v1/chat/completions", content=CHAT, headers=headers, timeout=10)
        assert reply.status_code == 415, reply.text
        assert reply.json()["error"]["type"] == "invalid_request_error"
        assert reply.json()["error"]["param"] == "content-type"
        assert fake.get("/_fake/requests").json() == [], "nothing reaches a provider"


def test_an_anthropic_body_in_text_plain_is_a_415_in_anthropic_format(open_mesh: Mesh) -> None:
    reply = _post(open_mesh, "/v1/messages", MESSAGES, **{"content-type": "text/plain;charset=UTF-8"})
    assert reply.status_code == 415, reply.text
    assert reply.json()["type"] == "error" and reply.json()["error"]["type"] == "invalid_request_error"


def test_an_admin_body_in_text_plain_is_a_415(open_mesh: Mesh) -> None:
    reply = _post(open_mesh, "/key/generate", b'{"team_id": "x"}', **{"content-type": "text/plain"})
    assert reply.status_code == 415, reply.text


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1.evil.example"])
def test_a_request_from_a_foreign_origin_is_refused_with_403(open_mesh: Mesh, origin: str) -> None:
    with open_mesh.fake_admin() as fake:
        reply = _post(open_mesh, "/v1/chat/completions", CHAT, **{"content-type": "application/json", "origin": origin})
        assert reply.status_code == 403, reply.text
        assert reply.json()["error"]["param"] == "origin"
        assert fake.get("/_fake/requests").json() == [], "nothing reaches a provider"
    anthropic = _post(open_mesh, "/v1/messages", MESSAGES, **{"content-type": "application/json", "origin": origin})
    assert anthropic.status_code == 403 and anthropic.json()["error"]["type"] == "permission_error"


def test_the_gateways_own_origin_and_an_allowed_one_are_served(open_mesh: Mesh) -> None:
    for origin in (open_mesh.edge_url, ALLOWED_ORIGIN):
        reply = _post(open_mesh, "/v1/chat/completions", CHAT, **{"content-type": "application/json", "origin": origin})
        assert reply.status_code == 200, (origin, reply.text)


def test_json_without_an_origin_is_served_as_sdks_send_it(open_mesh: Mesh) -> None:
    reply = _post(open_mesh, "/v1/chat/completions", CHAT, **{"content-type": "application/json; charset=utf-8"})
    assert reply.status_code == 200, reply.text
