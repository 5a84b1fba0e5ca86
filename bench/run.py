"""The gateway overhead report: `python -m bench.run`.

By default it starts a whole Switchyard mesh (`switchyard up`) in front of a fake OpenAI-compatible
upstream, and an identical fake for the direct baseline, on free loopback ports; then, for
non-streaming and streaming requests at each concurrency, drives the same load straight at the
baseline fake and through the gateway. It prints a Markdown table (requests/s,
p50/p95/p99, errors, and overhead = gateway latency minus direct latency) and writes the numbers to
bench/results/<timestamp>.json. `--gateway-url` measures any other OpenAI-compatible gateway instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bench.loadgen import HttpError, LoadSpec, probe, run_load
from switchyard.replicas import free_port

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
# Every service `switchyard up` starts, each given a free port (a fixed one could be another mesh's).
SERVICES = ("edge", "router", "classifier", "cache", "providers", "evaluator")
# The fakes' command line; `--wire <provider>` picks the vendor API it speaks.
FAKE_MODULE = "switchyard.fakes"
# Per wire format: the suffix its fake's API base needs, and the deployment model to route to.
PROVIDER_FAKES: dict[str, tuple[str, str]] = {
    "openai": ("/v1", ""),
    "anthropic": ("", "anthropic/fake-claude-sonnet"),
    "gemini": ("", "gemini/fake-gemini-2.5-flash"),
}
# The model the direct baseline asks the fake for: what the gateway's deployment would send upstream.
DIRECT_MODEL = "fake-gpt-4o"
# The virtual key of a --governed run (a benchmark-only secret in a throwaway config).
BENCH_KEY = "sk-sy-bench0000000000000000000000000000"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Returns the command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    parser.add_argument("--concurrency", default="1,32", help="comma-separated worker counts (default 1,32)")
    parser.add_argument("--upstream-delay-ms", type=float, default=0.0, help="the fake's fixed latency")
    parser.add_argument("--chunks", type=int, default=8, help="content chunks per streamed reply")
    parser.add_argument("--modes", default="plain,stream", help="plain, stream or both (default both)")
    parser.add_argument("--gateway-url", help="measure this OpenAI-compatible base URL (…/v1) instead")
    parser.add_argument("--model", default="default", help="model (group) to request from the gateway")
    parser.add_argument("--api-key", help="sent to the gateway as `Authorization: Bearer KEY`")
    parser.add_argument("--upstream-url", help="the upstream base URL for the direct baseline")
    parser.add_argument("--upstream-model", default=DIRECT_MODEL, help="model sent on the direct baseline")
    parser.add_argument("--skip-direct", action="store_true", help="do not measure the direct baseline")
    parser.add_argument("--no-cache", action="store_true", help="disable Switchyard's response cache")
    parser.add_argument(
        "--no-semantic", action="store_true", help="keep the exact tier only (switchyard.cache.semantic: false)"
    )
    parser.add_argument(
        "--redis-url",
        default="",
        help="shared state (and cache) in this Redis instead of in memory (switchyard.redis_url)",
    )
    parser.add_argument(
        "--provider",
        choices=sorted(PROVIDER_FAKES),
        default="openai",
        help="wire format of the fake upstream behind the mesh (the direct baseline needs openai)",
    )
    parser.add_argument(
        "--governed",
        action="store_true",
        help="turn auth on and send every request with a virtual key under key, team and app budgets and an RPM limit",
    )
    parser.add_argument(
        "--sample-rate",
        type=float,
        default=None,
        help="share of answers sent to the evaluator (switchyard.evaluation.sample_rate; default the config's)",
    )
    parser.add_argument(
        "--tls",
        choices=("on", "off"),
        default=os.environ.get("SWITCHYARD_BENCH_TLS", "on"),
        help="mutual TLS between the mesh's services, as `switchyard up` runs by default (default on; "
        "env SWITCHYARD_BENCH_TLS); off measures the plaintext mesh",
    )
    parser.add_argument("--startup-timeout", type=float, default=90.0, help="seconds to wait for readiness")
    parser.add_argument("--output", type=Path, help="JSON results file (default bench/results/<ts>.json)")
    args = parser.parse_args(argv)
    if args.gateway_url and not (args.upstream_url or args.skip_direct):
        parser.error("with --gateway-url give --upstream-url (the upstream it calls) or --skip-direct")
    if args.governed and (args.gateway_url or args.api_key):
        parser.error("--governed configures the mesh it starts and its key: drop --gateway-url / --api-key")
    if args.governed:
        args.api_key = BENCH_KEY
    if args.provider != "openai":
        # The load generator speaks OpenAI's format only, so there is no direct baseline to subtract.
        args.skip_direct = True
    return args


def mesh_config(
    upstream_base: str,
    ports: dict[str, int],
    *,
    cache: bool = True,
    semantic: bool = True,
    provider: str = "openai",
    redis_url: str = "",
    governed: bool = False,
    sample_rate: float | None = None,
) -> dict[str, Any]:
    """Returns the embedded default config with every deployment pointed at upstream_base.

    For another wire format every deployment becomes that provider's fake model; with redis_url the
    shared state (and the cache) live in that Redis. Governed, a master key turns auth on and
    BENCH_KEY is a virtual key whose requests are held against three budgets (key daily, team monthly,
    app daily, all far from their caps) and an RPM limit: every request pays the key check and the
    reservation, as a governed production request does.

    The built-in fake is off (the benchmark runs its own) and every service gets the given port, so
    the benchmark never clashes with a gateway already running on the default ports.
    """
    text = resources.files("switchyard.config").joinpath("default.yaml").read_text()
    config: dict[str, Any] = yaml.safe_load(text)
    model = PROVIDER_FAKES[provider][1]
    for index, entry in enumerate(config["model_list"]):
        entry["litellm_params"]["api_base"] = upstream_base
        if model:
            entry["litellm_params"].update(model=model, api_key="sk-fake")
            # Deployments that now look alike still need ids of their own.
            entry.setdefault("model_info", {})["id"] = f"{entry['model_name']}-{provider}-{index}"
    section = config.setdefault("switchyard", {})
    section["fake_provider"] = {"enabled": False}
    section["services"] = {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()}
    if not cache:
        section["cache_enabled"] = False
    if not semantic:
        section.setdefault("cache", {})["semantic"] = False
    if redis_url:
        section["redis_url"] = redis_url
    if sample_rate is not None:
        section.setdefault("evaluation", {})["sample_rate"] = sample_rate
    if governed:
        config.setdefault("general_settings", {})["master_key"] = f"sk-bench-master-{uuid.uuid4().hex}"
        key = {"key": BENCH_KEY, "team_id": "bench", "app": "bench", "rpm_limit": 10_000_000}
        section["governance"] = {
            "keys": [{**key, "max_budget": 1e9, "budget_duration": "1d"}],
            "teams": [{"team_id": "bench", "max_budget": 1e9, "budget_duration": "30d"}],
            "apps": {"bench": {"max_budget": 1e9, "budget_duration": "1d"}},
        }
    return config


def overhead(gateway: dict[str, float], direct: dict[str, float]) -> dict[str, float]:
    """Returns gateway minus direct latency per percentile (ms) and the gateway/direct throughput ratio."""
    result = {key: gateway[key] - direct[key] for key in ("p50_ms", "p95_ms", "p99_ms")}
    result["rps_ratio"] = gateway["rps"] / direct["rps"] if direct["rps"] else math.nan
    return result


class Child:
    """A process the benchmark started, in its own process group, with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        fd, log = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")
        self.log = Path(log)
        try:
            self.proc = subprocess.Popen(
                args, env=env, cwd=ROOT, stdout=fd, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            os.close(fd)

    def tail(self, lines: int = 30) -> str:
        """Returns the last lines the child printed."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Asks the child to stop (SIGTERM), then kills its process group if it outlives timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                # `switchyard up` has children of its own; the group id is the one we created.
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _child_env(config_path: Path, tls: dict[str, str] | None = None) -> dict[str, str]:
    # The mesh is configured by the file (and tls) alone: inherited service variables could move ports or
    # peers, and trace export would add CPU the benchmark does not mean to measure.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHYARD_", "OTEL_"))}
    return {**env, "SWITCHYARD_CONFIG": str(config_path), "PYTHONUNBUFFERED": "1", **(tls or {})}


def _tls_env(tls: str, workdir: Path) -> dict[str, str]:
    """Returns the mesh's TLS variables: a development CA of the run's own (the user's state directory
    stays untouched), or plaintext."""
    if tls == "off":
        return {"SWITCHYARD_TLS": "off"}
    from switchyard.runtime.certs import write_dev_ca

    return {"SWITCHYARD_TLS": "on", "SWITCHYARD_TLS_DIR": str(write_dev_ca(workdir / "tls"))}


def fake_command(port: int, wire: str = "openai") -> list[str]:
    """Returns the command serving a fake upstream of the wire format on 127.0.0.1:port (add its options)."""
    return [sys.executable, "-m", FAKE_MODULE, "--wire", wire, "--host", "127.0.0.1", "--port", str(port)]


def _switchyard_command() -> list[str]:
    """Returns the command running this checkout's `switchyard` CLI: the code being measured, never an
    older installed copy."""
    return [sys.executable, "-c", "import sys; from switchyard.cli import main; sys.exit(main())"]


async def wait_ready(url: str, child: Child | None, deadline_s: float, model: str | None = None) -> None:
    """Returns once GET url answers 200 (or, with model, a chat completion does); raises past the deadline."""
    deadline = time.monotonic() + deadline_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if child is not None and child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        try:
            async with asyncio.timeout(5):
                status = await (probe(url, model) if model else _get_status(url))
            if status == 200:
                return
            last = f"HTTP {status}"
        except (HttpError, TimeoutError, OSError) as exc:
            last = str(exc)
        await asyncio.sleep(0.1)
    where = f"\n{child.name} output:\n{child.tail()}" if child else ""
    raise RuntimeError(f"{url} not ready after {deadline_s}s ({last}){where}")


async def _get_status(url: str) -> int:
    host, _, rest = url.removeprefix("http://").partition("/")
    name, _, port = host.partition(":")
    reader, writer = await asyncio.open_connection(name, int(port or 80))
    try:
        writer.write(f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()


@contextlib.contextmanager
def started(args: argparse.Namespace) -> Iterator[tuple[str, str | None, list[Child]]]:
    """Yields (gateway base URL, direct base URL or None, children), starting what is not given."""
    children: list[Child] = []
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
    try:
        upstream = direct = args.upstream_url
        if not upstream and not args.gateway_url:
            suffix, _ = PROVIDER_FAKES[args.provider]
            # The baseline gets a fake of its own: the gateway honours the rate-limit headers its upstream
            # sends, and thousands of direct requests a second would use up the minute's quota they report.
            names = ("fake", "fake-direct") if not args.skip_direct else ("fake",)
            urls = []
            for name in names:
                port = free_port()
                fake = fake_command(port, args.provider)
                fake += ["--latency-ms", f"{args.upstream_delay_ms:g}", "--chunks", str(args.chunks)]
                children.append(Child(name, fake, _child_env(workdir / "none.yaml")))
                urls.append(f"http://127.0.0.1:{port}{suffix}")
            upstream, direct = urls[0], urls[-1]
        gateway = args.gateway_url
        if not gateway:
            ports = {name: free_port() for name in SERVICES}
            config_path = workdir / "config.yaml"
            config = mesh_config(
                upstream,
                ports,
                cache=not args.no_cache,
                semantic=not args.no_semantic,
                provider=args.provider,
                redis_url=args.redis_url,
                governed=args.governed,
                sample_rate=args.sample_rate,
            )
            config_path.write_text(yaml.safe_dump(config))
            up = [*_switchyard_command(), "up", "--config", str(config_path), "--port", str(ports["edge"])]
            children.append(Child("switchyard-up", up, _child_env(config_path, _tls_env(args.tls, workdir))))
            gateway = f"http://127.0.0.1:{ports['edge']}/v1"
        yield gateway, (None if args.skip_direct else direct), children
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the matrix and returns the report: per-run stats and the overhead of each cell."""
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    runs: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    with started(args) as (gateway, direct, children):
        by_name = {c.name: c for c in children}
        if direct:
            await wait_ready(direct, by_name.get("fake-direct"), args.startup_timeout, model=args.upstream_model)
        if "switchyard-up" in by_name:
            edge = gateway.removesuffix("/v1")
            await wait_ready(f"{edge}/readyz", by_name["switchyard-up"], args.startup_timeout)
        for mode in modes:
            for concurrency in concurrencies:
                cell: dict[str, Any] = {"mode": mode, "concurrency": concurrency}
                targets: list[tuple[str, str, str, dict[str, str]]] = []
                if direct:
                    targets.append(("direct", direct, args.upstream_model, {}))
                targets.append(("gateway", gateway, args.model, headers))
                for target, url, model, extra in targets:
                    spec = LoadSpec(
                        url,
                        model,
                        stream=mode == "stream",
                        concurrency=concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        headers=extra,
                    )
                    stats = dataclasses.asdict(await run_load(spec))
                    runs.append({"target": target, "mode": mode, **stats})
                    cell[target] = stats
                    print(f"  {mode:6} c={concurrency:<3} {target:7} {_brief(stats)}", file=sys.stderr)
                if direct:
                    cell["overhead"] = overhead(cell["gateway"], cell["direct"])
                cells.append(cell)
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: v for k, v in vars(args).items() if k != "api_key"},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "runs": runs,
        "cells": cells,
    }


def _brief(stats: dict[str, Any]) -> str:
    return f"{stats['rps']:.1f} req/s p50 {stats['p50_ms']:.2f} ms errors {stats['errors']}"


def _ms(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}"


def _delta(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:+.2f}"


def markdown(report: dict[str, Any]) -> str:
    """Returns the report as a Markdown table: one row per (mode, concurrency, target) plus overhead."""
    rows = [
        "| mode | conc | target | req/s | p50 ms | p95 ms | p99 ms | TTFT p50 ms | errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in report["cells"]:
        for target in ("direct", "gateway"):
            if target not in cell:
                continue
            s = cell[target]
            rows.append(
                f"| {cell['mode']} | {cell['concurrency']} | {target} | {s['rps']:.1f} | {_ms(s['p50_ms'])} "
                f"| {_ms(s['p95_ms'])} | {_ms(s['p99_ms'])} | {_ms(s['ttft_p50_ms'])} | {s['errors']} |"
            )
        if "overhead" in cell:
            o = cell["overhead"]
            rows.append(
                f"| {cell['mode']} | {cell['concurrency']} | **overhead** | x{o['rps_ratio']:.2f} "
                f"| {_delta(o['p50_ms'])} | {_delta(o['p95_ms'])} | {_delta(o['p99_ms'])} | | |"
            )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark, prints the table, writes the JSON; returns the process exit code."""
    args = parse_args(argv)
    try:
        # uvloop keeps the generator's own CPU per request low; the stdlib loop works too.
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            report = runner.run(measure(args))
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    output = args.output or RESULTS / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(markdown(report))
    print(f"\nresults: {output}")
    errors = sum(run["errors"] for run in report["runs"])
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
