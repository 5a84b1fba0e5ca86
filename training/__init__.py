"""Training and evaluation of Switchyard's learned models: `python -m training.<name>`.

Each trainer reads public labelled data (the shared data folder beside the repository by default;
every script takes `--data`) and writes its small artifact into switchyard/ml/artifacts, the one
place the package reads them from. The evaluation figures each prints are the ones the README quotes.
Needs the `train` extra (`pip install -e '.[train]'`); nothing at run time imports this package.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The shared data folder beside the repository: `--data` points elsewhere.
DATA = ROOT.parent / "shared" / "data"
ARTIFACTS = ROOT / "switchyard" / "ml" / "artifacts"
# Seed examples written by hand for this project, kept with the trainers.
SEEDS = Path(__file__).resolve().parent / "data"
