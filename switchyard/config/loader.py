"""Reading the configuration file: YAML to a validated `Config`, or a ConfigError naming field, line and reason.

With no path the embedded default (`default.yaml`) is used: every deployment answered by the built-in
fake provider, so the gateway works with no keys and no network.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from switchyard.config.document import Config


class ConfigError(ValueError):
    """A configuration file that cannot be used, with where and why."""


def _lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Returns the 1-based line of every mapping key and sequence item in a YAML text."""
    found: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        found[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                walk(value, child)
                found[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return found


def parse_config(text: str, source: str = "<config>") -> Config:
    """Returns the validated config in a YAML text, or raises ConfigError naming field, line and reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = _lines(text)
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
            where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
            problems.append(f"{source}:{line}: {where or '(top)'}: {error['msg']}")
        raise ConfigError("invalid configuration\n  " + "\n  ".join(problems)) from None


def load_config(path: str | Path | None) -> Config:
    """Returns the config at path, or the embedded default when path is empty."""
    if not path:
        text = resources.files("switchyard.config").joinpath("default.yaml").read_text()
        return parse_config(text, "embedded default")
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    return parse_config(text, str(file))
