"""Requests generated from OpenAI's own spec against the running edge: none gets a 5xx.

Schemathesis reads the vendored OpenAPI document (tests/data/openai/openapi.yaml) and generates POST
/v1/chat/completions bodies, both ones the schema allows (steered to the mesh's `default` model, so
they reach a provider) and ones it forbids. Every answer must be below 500, and every 4xx must be an
OpenAI error body, so a client's SDK can read why.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.transport import Response

from tests.openapi_spec import assert_valid, spec_path
from tests.support import Mesh

pytestmark = pytest.mark.mesh

_OPERATION = schemathesis.openapi.from_path(str(spec_path()))["/chat/completions"]["POST"]


def _to_default_model(case: Any) -> Any:
    if isinstance(case.body, dict):
        case.body["model"] = "default"
    return case


_CASES = st.one_of(
    _OPERATION.as_strategy(generation_mode=GenerationMode.POSITIVE).map(_to_default_model),
    _OPERATION.as_strategy(generation_mode=GenerationMode.NEGATIVE),
)


def _check(response: Response, session: requests.Session, case: Any) -> None:
    assert response.status_code < 500, f"{response.status_code} for {case.body!r:.300}: {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert_valid("ErrorResponse", body)
        assert body["error"]["message"]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(case=_CASES)
def _exercise(case: Any, mesh: Mesh, session: requests.Session, statuses: list[int]) -> None:
    response = case.call(
        base_url=f"{mesh.edge_url}/v1", session=session, headers={"authorization": "Bearer sk-sy-test"}, timeout=20
    )
    statuses.append(response.status_code)
    _check(response, session, case)


def test_generated_chat_requests_never_get_a_server_error(mesh: Mesh) -> None:
    statuses: list[int] = []
    with requests.Session() as session:
        _exercise(mesh=mesh, session=session, statuses=statuses)
    # Both kinds reached the edge: some were served, some refused with a 4xx.
    assert any(s < 300 for s in statuses), statuses
    assert any(400 <= s < 500 for s in statuses), statuses
