"""The trained artifacts the ml models read, written by `python -m training.<name>`.

Each model's version is the hash of its artifact files, so two replicas, a report or a router can
tell whether a score came from the same model: retraining changes the artifact and so the version,
never another service's code.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

PACKAGE = __name__


@cache
def version(*names: str) -> str:
    """Returns the version of the model stored in the named artifact files: 12 hex digits of their hash."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(resources.files(PACKAGE).joinpath(name).read_bytes())
    return digest.hexdigest()[:12]
