"""The Python client's copy of the contract's stubs is what protos/ generates today (`make protos` writes it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.support import ROOT


def _gen_protos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_client_stubs_are_current(tmp_path: Path) -> None:
    gen_protos = _gen_protos()
    gen_protos.generate(tmp_path)
    assert gen_protos.client_drift(tmp_path) == [], "run `make protos` and commit the client stubs it writes"


def test_the_client_stubs_import_nothing_of_the_server_package() -> None:
    stubs = ROOT / "clients" / "python" / "switchyard_client" / "protos"
    imports = [
        f"{path.relative_to(stubs)}: {line}"
        for path in stubs.rglob("*.py*")
        for line in path.read_text().splitlines()
        if line.startswith(("from switchyard.", "import switchyard."))
    ]
    assert imports == []
