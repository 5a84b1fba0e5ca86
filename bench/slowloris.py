"""Normal clients under a slowloris attack: `python -m bench.slowloris`.

Starts a fake upstream and the mesh on free ports (as bench.run does), then measures normal clients'
latency (a chat completion, `--concurrency` at a time, for `--duration` seconds) twice: alone, and
while `--connections` attackers hold connections open. Each attacker sends half a request and then a
byte every `--drip-s` seconds: `headers` sends header lines slowly (slowloris), `body` completes its
headers and dribbles the body (R-U-Dead-Yet), `idle` only connects; one that the edge closes is
reopened at once, so the attack stays at full strength. The edge runs with its defaults (header
timeout 10 s, body timeout 60 s, ...) unless SWITCHYARD_EDGE_* variables are given with --edge-env.
Prints p50/p99/max of the normal clients, their errors, and how many attack connections the edge
cut (and how fast), as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import yaml

from bench.loadgen import summarize
from bench.run import SERVICES, Child, _child_env, _switchyard_command, fake_command, mesh_config, wait_ready
from switchyard.replicas import free_port


def chat_body() -> dict[str, object]:
    """Returns a chat completion with a prompt of its own, so the cache cannot answer it."""
    return {"model": "default", "messages": [{"role": "user", "content": f"Say hello. {uuid.uuid4().hex}"}]}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.slowloris", description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=500, help="attack connections held open (500)")
    parser.add_argument("--mode", choices=("headers", "body", "idle"), default="headers")
    parser.add_argument("--drip-s", type=float, default=4.0, help="seconds between an attacker's bytes (4)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds each measurement runs (20)")
    parser.add_argument("--concurrency", type=int, default=4, help="normal clients at once (4)")
    parser.add_argument("--upstream-delay-ms", type=float, default=50.0, help="the fake upstream's latency (50)")
    parser.add_argument(
        "--edge-env", action="append", default=[], metavar="NAME=VALUE", help="extra SWITCHYARD_EDGE_* variables"
    )
    return parser.parse_args(argv)


class Attack:
    """`count` slow connections to host:port, each reopened when the edge closes it."""

    def __init__(self, port: int, count: int, mode: str, drip_s: float) -> None:
        self._port, self._count, self._mode, self._drip_s = port, count, mode, drip_s
        self._tasks: list[asyncio.Task[None]] = []
        self.open = 0
        self.cut = 0
        self.lifetimes: list[float] = []
        self._all_open = asyncio.Event()

    def _opening(self) -> bytes:
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
        if self._mode == "body":
            return head + b"content-type: application/json\r\ncontent-length: 100000\r\n\r\n"
        return head if self._mode == "headers" else b""

    def _drip(self, n: int) -> bytes:
        if self._mode == "headers":
            return f"x-slow-{n}: 1\r\n".encode()
        return b" " if self._mode == "body" else b""

    async def _one(self) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
            except OSError:
                await asyncio.sleep(0.1)  # the connection cap or the backlog: try again shortly
                continue
            self.open += 1
            if self.open >= self._count:
                self._all_open.set()
            started = time.monotonic()
            try:
                writer.write(self._opening())
                n = 0
                while True:
                    # The wait doubles as the drip's pacing: a close or an answer ends it early. (asyncio.timeout,
                    # not wait_for: on 3.11 wait_for can swallow the cancellation that stops the attack.)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._drip_s):
                            if not await reader.read(65536):
                                break
                            continue
                    n += 1
                    writer.write(self._drip(n))
                    await writer.drain()
            except OSError:
                pass
            finally:
                self.open -= 1
                writer.close()
            # Reached only when the edge ended the connection (a cancelled task leaves through finally).
            self.cut += 1
            self.lifetimes.append(time.monotonic() - started)

    async def start(self) -> None:
        """Opens the connections and returns once they are all open (or 10 s passed)."""
        self._tasks = [asyncio.create_task(self._one()) for _ in range(self._count)]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10.0):
                await self._all_open.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def normal_clients(base: str, duration: float, concurrency: int) -> tuple[list[float], int]:
    """Returns the latencies (ms) of chat completions sent for duration seconds, and how many failed."""
    latencies: list[float] = []
    errors = 0
    end = time.monotonic() + duration

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.monotonic() < end:
                started = time.perf_counter()
                try:
                    reply = await http.post("/v1/chat/completions", json=chat_body())
                    ok = reply.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


def _row(label: str, latencies: list[float], errors: int) -> str:
    s = summarize(latencies)
    worst = max(latencies, default=float("nan"))
    return f"| {label} | {len(latencies)} | {s['p50']:.1f} | {s['p99']:.1f} | {worst:.1f} | {errors} |"


async def measure(args: argparse.Namespace, edge_port: int) -> str:
    base = f"http://127.0.0.1:{edge_port}"
    alone = await normal_clients(base, args.duration, args.concurrency)
    attack = Attack(edge_port, args.connections, args.mode, args.drip_s)
    await attack.start()
    held = attack.open
    attacked = await normal_clients(base, args.duration, args.concurrency)
    still = attack.open
    await attack.stop()
    lived = summarize(attack.lifetimes)
    lines = [
        f"{args.connections} `{args.mode}` attack connections (one byte every {args.drip_s:g} s), "
        f"{args.concurrency} normal clients, {args.duration:g} s each, upstream {args.upstream_delay_ms:g} ms",
        "",
        "| normal clients | requests | p50 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|",
        _row("alone", *alone),
        _row(f"under attack ({held} open at start, {still} at end)", *attacked),
        "",
        f"attack connections cut by the edge: {attack.cut} (their lifetime p50 {lived['p50']:.1f} s, "
        f"p99 {lived['p99']:.1f} s)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-slowloris-"))
    children: list[Child] = []
    try:
        fake_port = free_port()
        fake = fake_command(fake_port)
        fake += ["--latency-ms", f"{args.upstream_delay_ms:g}"]
        children.append(Child("fake", fake, _child_env(workdir / "none.yaml")))
        ports = {name: free_port() for name in SERVICES}
        config_path = workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(mesh_config(f"http://127.0.0.1:{fake_port}/v1", ports)))
        env = _child_env(config_path)
        env.update(item.split("=", 1) for item in args.edge_env)  # type: ignore[arg-type]
        up = [*_switchyard_command(), "up", "--config", str(config_path), "--port", str(ports["edge"])]
        children.append(Child("switchyard-up", up, env))
        asyncio.run(wait_ready(f"http://127.0.0.1:{ports['edge']}/readyz", children[-1], 120))
        print(asyncio.run(measure(args, ports["edge"])))
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
