"""The official OpenAI OpenAPI spec, prepared for Draft 2020-12 validation of what our servers emit.

The spec is OpenAPI 3.1 but still writes `nullable: true` (3.0) in places, which plain JSON Schema
ignores, so a valid `null` would be rejected: each `{..., nullable: true}` becomes
`anyOf: [{...}, {type: "null"}]` before validation. `$ref`s resolve through a referencing Registry.

The spec is vendored: tests/data/openai/openapi.yaml is the part of OpenAI's spec the edge's
endpoints reach (scripts/vendor_openai_spec.py makes it; MIT licence beside it). `SWITCHYARD_OPENAI_SPEC`
points at another copy (the whole spec, a newer release) to validate against that instead.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support import ROOT

SPEC_ENV = "SWITCHYARD_OPENAI_SPEC"
DEFAULT_SPEC = Path("tests/data/openai/openapi.yaml")
_BASE = "urn:openai-openapi"


def spec_path() -> Path:
    """Returns the OpenAI openapi.yaml to validate against: the vendored one unless SWITCHYARD_OPENAI_SPEC says so."""
    configured = os.environ.get(SPEC_ENV)
    path = Path(configured) if configured else DEFAULT_SPEC
    if not path.is_absolute():
        path = (ROOT / path).resolve()
    if path.is_file():
        return path
    source = f"{SPEC_ENV}={configured}" if configured else f"the vendored {DEFAULT_SPEC}"
    raise AssertionError(f"the OpenAI OpenAPI spec is missing: {source} does not exist at {path}")


def _denull(node: Any) -> Any:
    """Returns node with every OpenAPI 3.0 `nullable: true` rewritten into JSON Schema's anyOf-null."""
    if isinstance(node, list):
        return [_denull(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _denull(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [result, {"type": "null"}]}
    return result


@functools.cache
def _registry() -> Registry:
    with spec_path().open() as file:
        spec = yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    resource = Resource.from_contents(_denull(spec), default_specification=DRAFT202012)
    return Registry().with_resource(_BASE, resource)


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """Returns a validator for one of the spec's components/schemas, e.g. CreateChatCompletionResponse."""
    registry = _registry()
    schema = {"$ref": f"{_BASE}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry)


def assert_valid(schema_name: str, instance: Any) -> None:
    """Fails with every violation listed when instance does not match the named schema."""
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in validator(schema_name).iter_errors(instance)
    ]
    assert not problems, f"not a valid {schema_name}:\n  " + "\n  ".join(problems)
