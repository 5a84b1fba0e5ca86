"""Generates the Python stubs for protos/ into gen/python, or checks that they are up to date.

python scripts/gen_protos.py            # regenerate gen/python
python scripts/gen_protos.py --check    # exit 1 when gen/python has drifted from protos/
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "gen" / "python"


def _plugin(name: str) -> str:
    scripts = Path(sysconfig.get_path("scripts"))
    found = scripts / name
    if found.exists():
        return str(found)
    located = shutil.which(name)
    if located is None:
        raise SystemExit(f"{name} not found: install the dev dependencies (pip install -e '.[dev]')")
    return located


def generate(out: Path) -> None:
    """Writes stubs, typed stubs and package markers for every .proto under protos/ into out."""
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
    for package in [p for p in (out / "switchyard").rglob("*") if p.is_dir()] + [out / "switchyard"]:
        (package / "__init__.py").touch()
    (out / "switchyard" / "py.typed").touch()


def _tree(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def check() -> int:
    """Returns 0 when gen/python equals a fresh generation, else prints the drift and returns 1."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        want, have = _tree(fresh), _tree(OUT)
        drift = sorted(set(want) ^ set(have))
        drift += sorted(k for k in set(want) & set(have) if not filecmp.cmp(want[k], have[k], shallow=False))
    for name in drift:
        print(f"stub drift: gen/python/{name}")
    if drift:
        print("run `make protos` and commit the result")
    return 1 if drift else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when gen/python has drifted")
    args = parser.parse_args()
    if args.check:
        return check()
    if OUT.exists():
        shutil.rmtree(OUT / "switchyard", ignore_errors=True)
    generate(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
