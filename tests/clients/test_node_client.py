"""The TypeScript example (clients/node) calls the running mesh: its stubs are generated from protos/ by
protoc-gen-es at build time (`npm run build`), its dependencies installed exactly as package-lock.json
says (`npm ci`), and its `node --test` suite run against the gateway."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT, require_mark

pytestmark = pytest.mark.mesh
SOURCE = ROOT / "clients" / "node"


def _npm() -> str:
    found = shutil.which("npm")
    if found is None:
        pytest.fail(
            "npm not found: the Node client test needs Node.js 20+ with npm (Debian: apt-get install nodejs npm)"
        )
    return found


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example beside a copy of protos/ (as in the repository), installed by `npm ci` and built."""
    require_mark("installs and builds a Node package", "mesh")
    npm = _npm()
    work = tmp_path_factory.mktemp("node-client")
    shutil.copytree(ROOT / "protos", work / "protos")
    project = work / "clients" / "node"
    shutil.copytree(SOURCE, project, ignore=shutil.ignore_patterns("node_modules", "dist", "gen"))
    _run([npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=project)
    _run([npm, "run", "build"], cwd=project)
    return project


def test_the_node_client_passes_its_tests_against_the_mesh(built: Path, client_env: dict[str, str]) -> None:
    output = _run([_npm(), "test"], cwd=built, env=client_env)
    assert re.search(r"^# pass [1-9]", output, re.MULTILINE) and re.search(r"^# fail 0$", output, re.MULTILINE), output
