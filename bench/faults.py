"""The fault matrix: `python -m bench.faults [--duration 8] [--faults a,b] [--short]`.

Starts a Switchyard mesh of its own (bench.faultmesh: every service a process, mutual TLS, two fake
upstreams behind one model group, a throwaway redis-server) and, for each fault in turn, drives it with
12 clients (half streaming, every prompt unique, every answer checked against its prompt: bench.faultload),
injects the fault for `--duration` seconds, removes it, and keeps the load on until the mesh is back.
It prints one row per fault: requests sent, answered, errors by kind, lost, hung, silently truncated,
p99 latency of the answers, the time from the fault's removal to the end of the last failed request,
and — for a process killed and started again — how many requests sent after it reported SERVING failed.
Exits 1 when any fault lost, hung or truncated a request, or failed one after SERVING.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import yaml

from bench.faultload import Load, Row, table, tally
from bench.faultmesh import GROUP, REQUEST_TIMEOUT, FaultMesh, new_workdir, remove

CLIENTS = 12
# How long the load runs before a fault, and after it once every process is ready again.
LEAD_S = 1.0
SETTLE_S = 4.0
READY_TIMEOUT_S = 60.0
# A stall longer than any timeout of the mesh: the request must end by Switchyard's doing, not the stall's.
STALL_MS = 60_000
# Every fake stream opens with a role-only event: a stall from the third event on comes after real content.
AFTER_FIRST_TOKEN = 2


@dataclass(frozen=True)
class Restored:
    """When a fault's cause was removed, and when a restarted process reported SERVING (None: none was)."""

    at: float
    serving_at: float | None = None


FaultRun = Callable[[FaultMesh, float], Awaitable[Restored]]


@dataclass(frozen=True)
class Fault:
    """A fault of the matrix: its name in the table, and what injects it, holds it and removes it."""

    name: str
    run: FaultRun


def scripted(**values: object) -> FaultRun:
    """Returns a fault that makes the primary upstream answer as the fake's options say, then heals it."""

    async def run(mesh: FaultMesh, hold: float) -> Restored:
        await mesh.script("primary", **values)
        await asyncio.sleep(hold)
        await mesh.clear_scripts()
        return Restored(time.monotonic())

    return run


def restarted(name: str) -> FaultRun:
    """Returns a fault that kills a process (SIGKILL), keeps it down, and starts it again."""

    async def run(mesh: FaultMesh, hold: float) -> Restored:
        await mesh.kill(name)
        await asyncio.sleep(hold)
        at = time.monotonic()
        return Restored(at, await mesh.launch(name))

    return run


async def reload(mesh: FaultMesh, hold: float) -> Restored:
    """Writes a changed config, then a broken one, then a half-written one, then the original again."""
    original = mesh.config_path.read_text()
    changed = yaml.safe_load(original)
    changed["router_settings"]["num_retries"] = 3
    for text in (yaml.safe_dump(changed), "model_list: [\n  - {model_name: ", original[: len(original) // 2]):
        mesh.config_path.write_text(text)
        await asyncio.sleep(hold / 3)
    mesh.config_path.write_text(original)
    return Restored(time.monotonic())


async def drain(mesh: FaultMesh, hold: float) -> Restored:
    """Slows both upstreams so every client has a request in flight, stops the edge with SIGTERM (it drains
    what it holds), and starts it again."""
    for upstream in ("primary", "secondary"):
        await mesh.script(upstream, latency_ms=1500, ttft_ms=300, chunk_delay_ms=300)
    await asyncio.sleep(1.0)
    await mesh.terminate("edge")
    await mesh.clear_scripts()
    await asyncio.sleep(max(0.0, hold - 1.0))
    at = time.monotonic()
    return Restored(at, await mesh.launch("edge"))


FAULTS = (
    Fault("provider 429", scripted(status=429, retry_after="2")),
    Fault("provider 500", scripted(status=500)),
    Fault("provider 503", scripted(status=503)),
    Fault("provider 529", scripted(status=529)),
    Fault("timeout", scripted(latency_ms=STALL_MS)),
    Fault("stall before first token", scripted(ttft_ms=STALL_MS, latency_ms=STALL_MS)),
    Fault("stall after first token", scripted(drip_after=AFTER_FIRST_TOKEN, chunk_delay_ms=STALL_MS)),
    Fault("cut before first token", scripted(cut_after=0)),
    Fault("cut after first token", scripted(cut_after=AFTER_FIRST_TOKEN)),
    Fault("malformed body", scripted(malformed="json")),
    Fault("upstream down", restarted("primary")),
    Fault("classifier restart", restarted("classifier")),
    Fault("cache restart", restarted("cache")),
    Fault("providers restart", restarted("providers")),
    Fault("router restart", restarted("router")),
    Fault("redis killed", restarted("redis")),
    Fault("hot reload", reload),
    Fault("SIGTERM drain", drain),
)
BY_SLUG = {fault.name.lower().replace(" ", "-"): fault for fault in FAULTS}
# What `make test` runs: a provider error, both mid-stream faults, and the two peers whose restart a
# request cannot route around killed and started again.
SHORT_SUBSET = (
    "provider-503",
    "stall-after-first-token",
    "cut-after-first-token",
    "providers-restart",
    "router-restart",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds each fault lasts (default 8)")
    parser.add_argument("--faults", default="", help=f"comma-separated subset of: {', '.join(BY_SLUG)}")
    parser.add_argument("--short", action="store_true", help=f"3 s per fault, and only {', '.join(SHORT_SUBSET)}")
    args = parser.parse_args(argv)
    if args.short:
        args.duration = min(args.duration, 3.0)
        args.faults = args.faults or ",".join(SHORT_SUBSET)
    unknown = [slug for slug in _slugs(args.faults) if slug not in BY_SLUG]
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(BY_SLUG)}")
    return args


def _slugs(spec: str) -> list[str]:
    return [slug.strip() for slug in spec.split(",") if slug.strip()]


def chosen(spec: str) -> list[Fault]:
    """Returns the faults a `--faults` value names, in the matrix's order (every fault for an empty one)."""
    slugs = set(_slugs(spec))
    return [fault for slug, fault in BY_SLUG.items() if not slugs or slug in slugs]


async def measure(mesh: FaultMesh, fault: Fault, duration: float) -> Row:
    """Drives the mesh through one fault and returns its row."""
    load = Load(mesh.base_url, GROUP, CLIENTS, deadline_s=REQUEST_TIMEOUT + 10)
    load.start()
    await asyncio.sleep(LEAD_S)
    restored = await fault.run(mesh, duration)
    ready_by = time.monotonic() + READY_TIMEOUT_S
    while not await mesh.all_ready():
        if time.monotonic() > ready_by:
            raise RuntimeError(f"the mesh was not whole again {READY_TIMEOUT_S:.0f}s after {fault.name}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE_S)
    await load.stop()
    return tally(fault.name, load.outcomes, restored.at, restored.serving_at)


async def matrix(faults: Sequence[Fault], duration: float, report: Callable[[Row], None] = print) -> list[Row]:
    """Starts a mesh, runs each fault through it, and returns their rows (report sees each as it comes)."""
    workdir = new_workdir()
    mesh = FaultMesh(workdir)
    try:
        await mesh.start()
        rows = []
        for fault in faults:
            rows.append(await measure(mesh, fault, duration))
            report(rows[-1])
        return rows
    finally:
        mesh.stop()
        remove(workdir)


def _progress(row: Row) -> None:
    print(table([row]).splitlines()[-1], flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    rows = asyncio.run(matrix(chosen(args.faults), args.duration, _progress))
    print(table(rows))
    print(f"\n{len(rows)} faults, {CLIENTS} clients, {args.duration:g} s each, {time.monotonic() - began:.0f} s in all")
    return 1 if any(row.unacceptable for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
