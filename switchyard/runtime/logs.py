"""Log set-up shared by every service: one line per record, never a secret."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str) -> None:
    """Sends records at level and above to stderr as `LEVEL logger: message`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries log every request at INFO: on the hot path that is a formatted line (and a
    # pipe write under `switchyard up`) per call, for nothing an operator needs.
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
