"""switchyard-client (clients/python), installed by pip into a fresh virtual environment without the
server package, runs its own tests against the running mesh: chat, streams, typed errors, deadlines and
retries on the gateway's RetryInfo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, require_mark

pytestmark = pytest.mark.mesh
SOURCE = ROOT / "clients" / "python"


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the client's source (its tests run from there) and a fresh venv with the package installed
    from it by pip, its dependencies pinned by the lock."""
    require_mark("builds a virtual environment", "mesh")
    work = tmp_path_factory.mktemp("python-client")
    copy = work / "source"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*_cache"))
    _run([sys.executable, "-m", "venv", work / "venv"], cwd=work)
    pip = [work / "venv/bin/pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "-c", ROOT / "requirements/dev.lock", f"{copy}[test]"], cwd=work)
    return work


def test_the_installed_client_passes_its_tests_against_the_mesh(installed: Path, client_env: dict[str, str]) -> None:
    output = _run(
        [installed / "venv/bin/pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "tests"],
        cwd=installed / "source",
        env=client_env,
    )
    assert " passed" in output and "failed" not in output and "skipped" not in output, output
