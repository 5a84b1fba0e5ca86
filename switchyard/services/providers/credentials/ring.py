"""The providers service's watched keys: read at start-up, re-read as they change, the last good one kept.

    file:     the file's stamp (inode, mtime, size) is checked every `file_poll_s` and the file read again
              when it moved; a Kubernetes secret update swaps a symlink, which changes the stamp
    vault:    read again every `refresh_s`
    aws-sm:   read again every `refresh_s`

One location is read once however many deployments use it (their fields are picked from the same read).
A read that fails keeps the last good value (a deployment that never had one stays unavailable); the
failure is logged once when it starts and once when it ends, counted in
`switchyard_providers_secret_read_failures_total`, shown in `switchyard_providers_secrets_failing`,
and retried after `retry_s`. Reads run in worker threads bounded by `timeout_s`, so a hung secret
manager never stalls a call; `refresh` as a whole takes at most about `timeout_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from switchyard.config.secrets import SecretRef, pick_field
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.credentials.sources import Payload, Source, SourceError, Stamp, file_stamp
from switchyard.services.providers.metrics import SECRET_READ_FAILURES, SECRET_ROTATIONS, SECRETS_FAILING

log = logging.getLogger("switchyard.services.providers")

Key = tuple[str, str]


@dataclass
class _Entry:
    """One watched location: what was last read there, and when to look again."""

    source: str
    location: str
    users: set[str] = field(default_factory=set)
    payload: Payload | None = None
    stamp: Stamp | None = None
    error: str = ""
    due: float = 0.0

    def __str__(self) -> str:
        return f"{self.source} {self.location}"


class KeyRing:
    """Keeps the values of watched key references fresh; `lookup` answers from memory, never from a source."""

    def __init__(
        self,
        sources: Mapping[str, Source],
        *,
        file_poll_s: float = 1.0,
        refresh_s: float = 60.0,
        retry_s: float = 10.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._file_poll_s = file_poll_s
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._entries: dict[Key, _Entry] = {}

    @property
    def tick_s(self) -> float:
        """Returns how often `run` looks for due reads."""
        return min(self._file_poll_s, self._refresh_s, self._retry_s)

    def lookup(self, ref: SecretRef) -> tuple[str | None, str]:
        """Returns (the key a watched reference names, "") or (None, why it is not there)."""
        entry = self._entries.get((ref.source, ref.location))
        if entry is None or entry.payload is None:
            why = f": {entry.error}" if entry is not None and entry.error else ""
            return None, f"its key from {ref} has not been read yet{why}"
        try:
            return pick_field(entry.payload, ref), ""
        except ValueError as exc:
            return None, str(exc)

    def track(self, deployments: Iterable[Deployment]) -> None:
        """Watches the references these deployments name (new ones are due at once) and forgets the others."""
        wanted: dict[Key, set[str]] = {}
        for deployment in deployments:
            ref = deployment.key_ref
            if ref is not None and ref.watched:
                wanted.setdefault((ref.source, ref.location), set()).add(deployment.id)
        for key in set(self._entries) - set(wanted):
            del self._entries[key]
        for key, users in wanted.items():
            entry = self._entries.setdefault(key, _Entry(*key))
            entry.users = users
        self._count_failing()

    async def refresh(self) -> bool:
        """Reads every location that is due, concurrently; returns whether a value arrived or changed."""
        now = self._clock()
        due = [entry for entry in self._entries.values() if entry.due <= now]
        if not due:
            return False
        changed = await asyncio.gather(*(self._refresh(entry) for entry in due))
        self._count_failing()
        return any(changed)

    async def run(self, on_change: Callable[[], None]) -> None:
        """Refreshes every `tick_s` until cancelled, calling on_change after a value arrived or changed."""
        while True:
            await asyncio.sleep(self.tick_s)
            if await self.refresh():
                try:
                    on_change()
                except Exception:
                    log.exception("applying changed provider keys failed; the previous keys keep serving")

    # ------------------------------------------------------------ one location

    def _interval(self, entry: _Entry) -> float:
        return self._file_poll_s if entry.source == "file" else self._refresh_s

    def _read(self, entry: _Entry) -> tuple[Payload | None, Stamp | None]:
        """Returns (what is stored now, its file stamp); payload None: a file whose stamp did not move."""
        source = self._sources.get(entry.source)
        if source is None:
            raise SourceError(f"no reader for {entry.source} references")
        if entry.source != "file":
            return source.read(entry.location), None
        stamp = file_stamp(entry.location)
        if stamp is not None and stamp == entry.stamp and entry.payload is not None:
            return None, stamp
        return source.read(entry.location), stamp

    async def _refresh(self, entry: _Entry) -> bool:
        started = self._clock()
        try:
            payload, stamp = await asyncio.wait_for(asyncio.to_thread(self._read, entry), self._timeout_s)
        except SourceError as exc:
            self._failed(entry, str(exc), started)
            return False
        except TimeoutError:
            self._failed(entry, f"no answer within {self._timeout_s:g}s", started)
            return False
        entry.due = started + self._interval(entry)
        entry.stamp = stamp
        if entry.error:
            log.info("the key from %s can be read again (deployments %s)", entry, _names(entry))
            entry.error = ""
        if payload is None or payload == entry.payload:
            return False
        if entry.payload is not None:
            SECRET_ROTATIONS.labels(entry.source).inc()
            log.info("the key from %s changed: new calls of %s use the new key", entry, _names(entry))
        entry.payload = payload
        return True

    def _failed(self, entry: _Entry, error: str, started: float) -> None:
        SECRET_READ_FAILURES.labels(entry.source).inc()
        entry.due = started + min(self._retry_s, self._interval(entry))
        if entry.error:
            # Logged when the failure started; the metric counts every retry.
            entry.error = error
            return
        entry.error = error
        after = "keeping the last good key" if entry.payload is not None else "they stay unavailable until it arrives"
        log.warning("cannot read the key from %s (deployments %s): %s; %s", entry, _names(entry), error, after)

    def _count_failing(self) -> None:
        failing = {name: 0 for name in self._sources}
        for entry in self._entries.values():
            if entry.error:
                failing[entry.source] = failing.get(entry.source, 0) + 1
        for name, count in failing.items():
            SECRETS_FAILING.labels(name).set(count)


def _names(entry: _Entry) -> str:
    return ", ".join(sorted(entry.users)) or "none"
