"""The memory soak: `python -m bench.soak [--duration 1800]`.

Starts a Switchyard mesh (`switchyard up`, as bench.run does) in front of a fake upstream, with the
cache in Redis (a throwaway redis-server unless --redis-url names one), and drives `--concurrency`
workers for `--duration` seconds: mostly unique prompts (every one a new cache entry), one in
`--repeat-every` a prompt from a small fixed set (cache hits). Every `--interval` seconds it samples
the resident memory (RSS) of each service process and prints a table of RSS over time, each
service's start, peak and end RSS and its growth over the last third of the run, then the requests,
cache hits and errors. Exits 1 when any request failed, a service died, or a service's RSS grew more
than `--max-late-growth` MiB over the last third (a plateau is what bounded memory looks like).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import run
from bench.loadgen import Connection, Endpoint, HttpError, build_body, build_head
from switchyard.replicas import free_port

MIB = 1024 * 1024
# The fixed prompts of repeated requests: after the first round each is an exact cache hit.
# What the fake upstream advertises per minute: above any rate this machine can send.
FAKE_LIMIT_REQUESTS = 10_000_000
REPEATED = tuple(f"Name a colour of the rainbow, number {i}." for i in range(16))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of load (default 1800)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="workers (default 8)")
    parser.add_argument("--repeat-every", type=int, default=5, help="one request in N repeats a prompt (default 5)")
    parser.add_argument("--redis-url", default="", help="an existing Redis (default: a throwaway redis-server)")
    parser.add_argument("--model", default="default", help="model (group) to request")
    parser.add_argument(
        "--max-late-growth",
        type=float,
        default=8.0,
        metavar="MIB",
        help="fail when a service's RSS grew more than this over the last third of the run (default 8)",
    )
    parser.add_argument("--startup-timeout", type=float, default=90.0, help="seconds to wait for readiness")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable for the mesh's services (the mesh otherwise gets no SWITCHYARD_* variable)",
    )
    return parser.parse_args(argv)


@dataclass
class Tally:
    requests: int = 0
    hits: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def rss_bytes(pid: int) -> int | None:
    """Returns the process's resident memory (psutil when installed, else /proc), None once it is gone."""
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        pass
    except Exception:
        # psutil.NoSuchProcess and friends: the process is gone.
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def services(root: int) -> dict[str, int]:
    """Returns {service: pid} of the `switchyard.services.<name>` processes descending from root."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: dict[str, int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            for arg in argv:
                if arg.startswith(b"switchyard.services."):
                    found[arg.decode().split(".")[2]] = pid
    return found


@contextlib.contextmanager
def redis(url: str) -> Iterator[str]:
    """Yields url, or the URL of a throwaway redis-server keeping nothing on disk."""
    if url:
        yield url
        return
    binary = shutil.which("redis-server") or shutil.which("redis-server", path=str(Path(sys.executable).parent))
    if binary is None:
        raise SystemExit("no redis-server on PATH: pass --redis-url")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="switchyard-soak-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


async def worker(base_url: str, index: int, args: argparse.Namespace, *, end: float, tally: Tally) -> None:
    endpoint = Endpoint.from_base_url(base_url)
    connection = Connection(endpoint)
    head = build_head(endpoint)
    run_id = os.urandom(4).hex()
    model, sequence = args.model, 0
    try:
        while time.monotonic() < end:
            sequence += 1
            if sequence % args.repeat_every == 0:
                prompt = REPEATED[sequence // args.repeat_every % len(REPEATED)]
            else:
                prompt = f"Summarise note {run_id}-{index}-{sequence} about soak testing in one line."
            try:
                async with asyncio.timeout(30):
                    response = await connection.request(head, build_body(model, False, prompt), False)
            except (HttpError, TimeoutError, OSError) as exc:
                connection.close()
                tally.errors[str(exc)[:100] or type(exc).__name__] += 1
                continue
            tally.requests += 1
            if not 200 <= response.status < 300:
                tally.errors[f"HTTP {response.status}"] += 1
            elif response.headers.get("x-switchyard-cache", "").lower().startswith("hit"):
                tally.hits += 1
    finally:
        connection.close()


async def sample(root: int, interval: float, end: float, rows: list[tuple[float, dict[str, int | None]]]) -> None:
    started = time.monotonic()
    pids: dict[str, int] = {}
    while True:
        pids = pids or services(root)
        now = time.monotonic()
        rows.append((now - started, {name: rss_bytes(pid) for name, pid in sorted(pids.items())}))
        if now >= end:
            return
        await asyncio.sleep(min(interval, max(0.0, end - now)))


def table(rows: list[tuple[float, dict[str, int | None]]]) -> str:
    names = sorted({name for _, row in rows for name in row})
    lines = ["| t (s) | " + " | ".join(f"{n} RSS MiB" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for elapsed, row in rows:
        cells = [_mib(row.get(n)) for n in names]
        lines.append(f"| {elapsed:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def mesh(redis_url: str, env: Sequence[str]) -> Iterator[tuple[str, run.Child]]:
    """Yields (gateway base URL, the `switchyard up` child): the mesh in front of a fake, cache in Redis."""
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-soak-"))
    children: list[run.Child] = []
    try:
        port = free_port()
        # The fake advertises far more requests a minute than the soak sends: the gateway honours an
        # upstream's rate-limit headers, and the soak measures the gateway, not a provider's limit.
        fake = [*run.fake_command(port), "--limit-requests", str(FAKE_LIMIT_REQUESTS)]
        children.append(run.Child("fake", fake, run._child_env(workdir / "none.yaml")))
        ports = {name: free_port() for name in run.SERVICES}
        config_path = workdir / "config.yaml"
        config = run.mesh_config(f"http://127.0.0.1:{port}/v1", ports, redis_url=redis_url)
        config_path.write_text(yaml.safe_dump(config))
        up = [*run._switchyard_command(), "up", "--config", str(config_path), "--port", str(ports["edge"])]
        extra = dict(item.split("=", 1) for item in env)
        children.append(run.Child("switchyard-up", up, {**run._child_env(config_path), **extra}))
        yield f"http://127.0.0.1:{ports['edge']}/v1", children[-1]
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def growth(rows: list[tuple[float, dict[str, int | None]]]) -> dict[str, tuple[float, float, float, float]]:
    """Returns {service: (start, peak, end, growth over the last third)} in MiB, for services still alive."""
    if not rows:
        return {}
    third = rows[min(len(rows) - 1, (2 * len(rows)) // 3)][1]
    found = {}
    for name in sorted(rows[-1][1]):
        series = [value for _, row in rows if (value := row.get(name)) is not None]
        late, end = third.get(name), rows[-1][1][name]
        if not series or late is None or end is None:
            continue
        found[name] = (series[0] / MIB, max(series) / MIB, end / MIB, (end - late) / MIB)
    return found


def _mib(value: int | None) -> str:
    return "gone" if value is None else f"{value / MIB:.1f}"


async def soak(args: argparse.Namespace) -> int:
    with redis(args.redis_url) as url, mesh(url, args.env) as (gateway, up):
        await run.wait_ready(f"{gateway.removesuffix('/v1')}/readyz", up, args.startup_timeout)
        tally, rows = Tally(), list[tuple[float, dict[str, int | None]]]()
        end = time.monotonic() + args.duration
        async with asyncio.TaskGroup() as group:
            group.create_task(sample(up.proc.pid, args.interval, end, rows))
            for index in range(args.concurrency):
                group.create_task(worker(gateway, index, args, end=end, tally=tally))
        print(table(rows))
        print("\n| service | start MiB | peak MiB | end MiB | growth over the last third MiB |\n|---|---|---|---|---|")
        grew = []
        for name, (start, peak, end, late) in growth(rows).items():
            print(f"| {name} | {start:.1f} | {peak:.1f} | {end:.1f} | {late:+.1f} |")
            if late > args.max_late_growth:
                grew.append(name)
        died = [name for name in rows[-1][1] if rows[-1][1][name] is None] if rows else ["every service"]
        print(f"\nrequests {tally.requests}, cache hits {tally.hits}, errors {sum(tally.errors.values())}")
        for reason, count in tally.errors.most_common(5):
            print(f"  {count} x {reason}")
        if died:
            print(f"services gone: {', '.join(died)}\n{up.tail()}")
        if grew:
            print(f"still growing (more than {args.max_late_growth:g} MiB over the last third): {', '.join(grew)}")
        return 1 if tally.errors or died or grew else 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(soak(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
