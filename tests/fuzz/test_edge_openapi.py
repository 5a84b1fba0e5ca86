"""Requests generated from OpenAI's own spec against the running edge: none gets a 5xx.

Schemathesis reads the vendored OpenAPI document (tests/data/openai/openapi.yaml) and generates POST
/v1/chat/completions and /v1/responses bodies, both ones the schema allows (steered to the mesh's
`default` model, so they reach a provider) and ones it forbids. Every answer must be below 500, and every 4xx must be an
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


# What the Responses API at this gateway refuses on purpose (README): server-side conversations, stored
# prompts, background runs; and a previous response is one this key stored, which a generated id is not.
_UNSERVED = ("conversation", "prompt", "background", "previous_response_id")


def _to_default_model(case: Any) -> Any:
    if isinstance(case.body, dict):
        case.body["model"] = "default"
        if case.path == "/responses":
            for key in _UNSERVED:
                case.body.pop(key, None)
            case.body.setdefault("input", "Hello")
    return case


def _cases(path: str) -> st.SearchStrategy[Any]:
    """Returns the requests to an operation: ones its schema allows, on the default model, and ones it forbids."""
    operation = schemathesis.openapi.from_path(str(spec_path()))[path]["POST"]
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE).map(_to_default_model),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


def _check(response: Response, session: requests.Session, case: Any) -> None:
    assert response.status_code < 500, f"{response.status_code} for {case.body!r:.300}: {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert_valid("ErrorResponse", body)
        assert body["error"]["message"]


def _exercise(case: Any, mesh: Mesh, session: requests.Session, statuses: list[int]) -> None:
    response = case.call(
        base_url=f"{mesh.edge_url}/v1", session=session, headers={"authorization": "Bearer sk-sy-test"}, timeout=20
    )
    statuses.append(response.status_code)
    _check(response, session, case)


@pytest.mark.parametrize("path", ["/chat/completions", "/responses"])
def test_generated_requests_never_get_a_server_error(mesh: Mesh, path: str) -> None:
    statuses: list[int] = []
    run = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)(
        given(case=_cases(path))(_exercise)
    )
    with requests.Session() as session:
        run(mesh=mesh, session=session, statuses=statuses)
    # Both kinds reached the edge: some were served, some refused with a 4xx.
    assert any(s < 300 for s in statuses), statuses
    assert any(400 <= s < 500 for s in statuses), statuses
