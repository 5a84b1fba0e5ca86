"""`extra` carries provider-specific parameters from an allow-list, never a modelled field."""

from __future__ import annotations

import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.common.v1 import errors_pb2 as E
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.openai import parse_request, request_to_wire
from switchyard.wire.openai.extras import check_extra


@pytest.mark.parametrize("name", ["model", "messages", "max_tokens", "n", "stream", "system", "contents"])
def test_a_modelled_field_is_refused_by_name(name: str) -> None:
    with pytest.raises(SwitchyardError) as caught:
        check_extra([name])
    assert caught.value.reason == E.ERROR_REASON_INVALID_REQUEST and caught.value.param == f"extra.{name}"


def test_a_parameter_off_the_list_is_refused_and_one_on_it_accepted() -> None:
    check_extra(["top_k", "min_p", "prediction"])
    with pytest.raises(SwitchyardError) as caught:
        check_extra(["best_of"])
    assert caught.value.param == "extra.best_of" and "top_k" in caught.value.message


def test_the_edge_names_the_top_level_key() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "documents": [{"text": "x"}]}
    with pytest.raises(SwitchyardError) as caught:
        parse_request(body)
    assert caught.value.param == "documents"


def test_the_upstream_body_never_takes_a_modelled_field_from_extra() -> None:
    # A request that reached an adapter without the front door's check still cannot override anything.
    request = chat_pb2.ChatRequest(model="m", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="hi")])
    request.extra.update({"model": "other", "messages": [], "top_k": 3})
    body = request_to_wire(request, "upstream-model", max_tokens_field="max_tokens")
    assert body["model"] == "upstream-model" and body["messages"][0]["content"] == "hi" and body["top_k"] == 3
