"""The evaluator's test setup, shared by its mesh tests: two experiment arms of the fake provider and a
fake judge that grades an answer by what it says ("GOOD-ANSWER" 9, "WEAK-ANSWER" 4).

`arm-weak` costs half of `arm-good`; experiment `ab` splits users between them (sticky by `user`).
"""

from __future__ import annotations

from typing import Any

import httpx

ARM_MODELS = """  - model_name: arm-good
    litellm_params: {model: openai/fake-good, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {input_cost_per_token: 0.000004, output_cost_per_token: 0.00002}
  - model_name: arm-weak
    litellm_params: {model: openai/fake-weak, api_base: "$FAKE_URL/v1", api_key: sk-fake}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.00001}
  - model_name: judge
    litellm_params: {model: openai/fake-judge, api_base: "$FAKE_URL/v1", api_key: sk-fake}
"""
AB_EXPERIMENT = """  experiments:
    ab:
      model: ab-model
      sticky: user
      arms:
        - {name: good, group: arm-good}
        - {name: weak, group: arm-weak}
"""
JUDGE_SCRIPT = {
    "model": "fake-judge",
    "reply_if": {"GOOD-ANSWER": "Accurate and complete. Rating: [[9]]", "WEAK-ANSWER": "Poor. Rating: [[4]]"},
}
ARM_SCRIPTS = (
    {"model": "fake-good", "content": "GOOD-ANSWER: a thorough and correct reply."},
    {"model": "fake-weak", "content": "WEAK-ANSWER: meh."},
    JUDGE_SCRIPT,
)


def script_fake(fake_url: str, scripts: tuple[dict[str, Any], ...]) -> None:
    """Scripts the mesh's fake provider (its admin API at fake_url)."""
    with httpx.Client(base_url=fake_url, timeout=5.0) as fake:
        for script in scripts:
            reply = fake.post("/_fake/scripts", json=script)
            assert reply.status_code == 200, reply.text
