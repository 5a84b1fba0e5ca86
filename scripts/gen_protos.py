"""Generates the Python stubs for protos/ into switchyard/<package>/v1, or checks that they are up to date.

python scripts/gen_protos.py            # regenerate the stubs
python scripts/gen_protos.py --check    # exit 1 when the stubs have drifted from protos/

The stubs live in the `switchyard` package beside the hand-written code, one folder per contract
(`switchyard/router/v1`, ...); those folders hold generated files only and are never edited by hand.
The hand-written libraries and services use other names (runtime, config, wire, ml, services, fakes),
so an import line always says which side it reads: `switchyard.router.v1` is the contract,
`switchyard.services.router` its implementation.

The gRPC client package (clients/python, `switchyard_client`) carries its own copy of the stubs a caller
needs — `common/v1` and the RouterService — under `switchyard_client.protos`, so it installs without
the server package; only their import lines differ from the server's copy.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = ROOT / "switchyard"
CLIENT_STUBS = ROOT / "clients" / "python" / "switchyard_client" / "protos"
# What a RouterService caller needs: the shared vocabulary and the router's own contract (not its admin API).
CLIENT_FILES = ("common/v1/*", "router/v1/router_pb2*")
_SERVER_IMPORT = re.compile(r"^(from|import) switchyard\.(?=(common|router)\.v1\b)", re.MULTILINE)


def _plugin(name: str) -> str:
    scripts = Path(sysconfig.get_path("scripts"))
    found = scripts / name
    if found.exists():
        return str(found)
    located = shutil.which(name)
    if located is None:
        raise SystemExit(f"{name} not found: install the dev dependencies (make dev)")
    return located


def contracts() -> list[str]:
    """Returns the contract packages protos/switchyard defines (common, router, ...)."""
    return sorted(p.name for p in (PROTOS / "switchyard").iterdir() if p.is_dir())


def generate(out: Path) -> None:
    """Writes stubs, typed stubs and package markers for every .proto under protos/ into out/switchyard."""
    import grpc_tools

    protos = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *protos,
    ]
    subprocess.run(cmd, check=True, cwd=PROTOS)
    for name in contracts():
        for package in [p for p in (out / "switchyard" / name).rglob("*") if p.is_dir()] + [out / "switchyard" / name]:
            (package / "__init__.py").touch()


def _tree(root: Path) -> dict[str, Path]:
    """Returns the generated files under root/switchyard: each contract's folder."""
    found: dict[str, Path] = {}
    for name in contracts():
        base = root / "switchyard" / name
        for path in base.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path.relative_to(root))] = path
    return found


def write_client_stubs(fresh: Path, out: Path) -> None:
    """Copies the client's share of a fresh generation (CLIENT_FILES) into out, its imports pointed at
    `switchyard_client.protos` instead of the server package."""
    for pattern in CLIENT_FILES:
        for source in sorted((fresh / "switchyard").glob(pattern)):
            if source.is_dir():
                continue
            target = out / source.relative_to(fresh / "switchyard")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_SERVER_IMPORT.sub(r"\1 switchyard_client.protos.", source.read_text()))
    for package in [out, *(p for p in out.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
        (package / "__init__.py").touch()


def _client_tree(root: Path) -> dict[str, Path]:
    """Returns the client's stub files under root, by path relative to root."""
    return {
        str(path.relative_to(root)): path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _drift(want: dict[str, Path], have: dict[str, Path]) -> list[str]:
    """Returns the files missing from one side or differing between the two."""
    drift = sorted(set(want) ^ set(have))
    return drift + sorted(k for k in set(want) & set(have) if not filecmp.cmp(want[k], have[k], shallow=False))


def client_drift(fresh: Path) -> list[str]:
    """Returns the client's stub files (paths from the repository root) that differ from what a fresh
    generation in `fresh` makes of them."""
    write_client_stubs(fresh, fresh / "client")
    drift = _drift(_client_tree(fresh / "client"), _client_tree(CLIENT_STUBS))
    return [str((CLIENT_STUBS / name).relative_to(ROOT)) for name in drift]


def check() -> int:
    """Returns 0 when the stubs (the server's and the client's) equal a fresh generation, else prints the
    drift and returns 1."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        drift = _drift(_tree(fresh), _tree(ROOT)) + client_drift(fresh)
    for name in drift:
        print(f"stub drift: {name}")
    if drift:
        print("run `make protos` and commit the result")
    return 1 if drift else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the stubs have drifted")
    args = parser.parse_args()
    if args.check:
        return check()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        for name in contracts():
            shutil.rmtree(PACKAGE / name, ignore_errors=True)
            shutil.copytree(fresh / "switchyard" / name, PACKAGE / name)
        shutil.rmtree(CLIENT_STUBS, ignore_errors=True)
        write_client_stubs(fresh, CLIENT_STUBS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
