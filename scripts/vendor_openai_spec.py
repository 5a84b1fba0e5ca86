"""Writes the part of OpenAI's OpenAPI spec that Switchyard's tests validate against into tests/data/openai/.

The whole spec is about 3 MB; the tests need the endpoints the edge serves or will serve (chat and
legacy completions, embeddings, responses, models) and every schema those reach through `$ref`, plus
ErrorResponse. The selection keeps the spec's own shape (`openapi`, `info`, `paths`, `components`),
so a validator resolves `#/components/...` references unchanged.

    python scripts/vendor_openai_spec.py PATH/TO/openapi.yaml [--out tests/data/openai/openapi.yaml]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

PATHS = ("/chat/completions", "/completions", "/embeddings", "/responses", "/models", "/models/{model}")
SCHEMAS = ("ErrorResponse", "CreateChatCompletionStreamResponse", "ResponseStreamEvent")
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "openai" / "openapi.yaml"


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _at(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def select(spec: dict[str, Any]) -> dict[str, Any]:
    """Returns the spec cut down to PATHS and SCHEMAS and everything they reference."""
    seeds: set[str] = {f"#/components/schemas/{name}" for name in SCHEMAS}
    paths = {path: spec["paths"][path] for path in PATHS}
    _refs(paths, seeds)
    seen: set[str] = set()
    todo = list(seeds)
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        found: set[str] = set()
        _refs(_at(spec, ref), found)
        todo.extend(found - seen)
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(seen):
        _, section, name = ref.removeprefix("#/").split("/")
        components.setdefault(section, {})[name] = _at(spec, ref)
    return {"openapi": spec["openapi"], "info": spec["info"], "paths": paths, "components": components}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="OpenAI's openapi.yaml")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with args.spec.open() as file:
        spec = yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    selected = select(spec)
    header = (
        "# A selection of OpenAI's OpenAPI spec (MIT licence: LICENSE beside this file), made by\n"
        "# scripts/vendor_openai_spec.py; the tests validate what Switchyard's servers emit against it.\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + yaml.safe_dump(selected, sort_keys=False, allow_unicode=True, width=120))
    components = sum(map(len, selected["components"].values()))
    print(f"wrote {args.out}: {len(selected['paths'])} paths, {components} components")


if __name__ == "__main__":
    main()
