"""Verify by ID over HTTP against a bare Litestar route in the same server (DESIGN §10).

Bar: ``GET /v1/verify/{id}`` throughput ≥ 0.6 × ``GET /bare`` throughput of the same server,
p99 ≤ 20 ms at 32 connections; a revocation visible to verifiers within 1 s.

One real uvicorn server (one process, as ``registry serve`` runs it: uvloop/httptools when
installed, access log on — sent to /dev/null) serves ``bench.servers:app_with_bare``: the registry
plus ``GET /bare``, a handler returning a small constant through the same middleware. The load
generator is ``wrk`` when installed (else httpx with as many workers as connections); each load
is bounded by time (and, for httpx, by a request count). Verify requests cycle through the
seeded certificate IDs. Then an admin revokes one certificate while verify load runs, and the
benchmark polls ``/v1/verify/{id}`` until the status flips; the delay counts from sending the
revocation. Rate limits are raised for the load generator's address (one, 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import (
    REPO_ROOT,
    Environment,
    argument_parser,
    database,
    environment,
    init_keys,
    issue_certificates,
    percentile,
    print_bar,
    print_configuration,
    seed_people,
)

RATIO_BAR = 0.6
P99_BAR_MS = 20.0
REVOCATION_BAR_S = 1.0
START_TIMEOUT_S = 30.0
REVOCATION_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers, timeouts, connection errors

    @property
    def throughput(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds

    def line(self) -> str:
        """The figures of this run on one line."""
        return (
            f"{self.throughput:9.1f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
            f"  ({self.requests} requests in {self.seconds:.1f} s, {self.errors} errors)"
        )


# --- load generators -------------------------------------------------------------------------

_WRK_SCRIPT = """
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH-RESULT %%d %%d %%d %%.1f %%.1f\\n", summary.requests,
    summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


async def _wrk(
    base: str, paths: Sequence[str], connections: int, seconds: float, work_dir: Path
) -> LoadResult:
    script = work_dir / f"load-{time.monotonic_ns()}.lua"
    script.write_text(_WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in paths)})
    threads = max(1, min(connections, os.cpu_count() or 1))
    process = await asyncio.create_subprocess_exec(
        *["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s"],
        *["--timeout", "10s", "-s", str(script), base],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
    for line in out.decode().splitlines():
        if line.startswith("BENCH-RESULT "):
            requests, duration_us, errors, p50_us, p99_us = line.split()[1:]
            return LoadResult(
                int(requests), int(duration_us) / 1e6, float(p50_us) / 1e3, float(p99_us) / 1e3,
                int(errors),
            )  # fmt: skip
    raise RuntimeError(f"wrk gave no result: {out.decode()} {err.decode()}")


async def _httpx(
    base: str, paths: Sequence[str], connections: int, seconds: float, max_requests: int
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors, issued
            while time.monotonic() < deadline and issued < max_requests:
                path = paths[issued % len(paths)]
                issued += 1
                start = time.perf_counter()
                try:
                    response = await client.get(path)
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return LoadResult(
        len(latencies),
        elapsed,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        errors,
    )


@dataclass(frozen=True)
class LoadGenerator:
    """wrk or httpx, with its bounds."""

    tool: str  # "wrk" | "httpx"
    connections: int
    seconds: float
    max_requests: int
    work_dir: Path

    async def run(
        self, base: str, paths: Sequence[str], seconds: float | None = None
    ) -> LoadResult:
        """Load ``paths`` (in turn) for ``seconds`` (default: the configured duration)."""
        duration = seconds or self.seconds
        if self.tool == "wrk":
            return await _wrk(base, paths, self.connections, duration, self.work_dir)
        return await _httpx(base, paths, self.connections, duration, self.max_requests)

    def describe(self) -> str:
        """One line for the configuration block."""
        if self.tool == "wrk":
            return f"wrk, {self.connections} connections, {self.seconds:.0f} s per load"
        return (
            f"httpx.AsyncClient, {self.connections} workers, at most {self.max_requests} "
            f"requests or {self.seconds:.0f} s per load"
        )


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _server(env: Environment) -> AsyncIterator[str]:
    """Serve ``bench.servers:app_with_bare`` with uvicorn on a free port until the block ends."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = env.data_dir / "server.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "uvicorn", "bench.servers:app_with_bare", "--factory"],
            *["--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers"],
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
        try:
            await _wait_ready(base, process)
            yield base
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _wait_ready(base: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline and process.returncode is None:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start (see server.log in the data directory)")


# --- revocation ------------------------------------------------------------------------------


async def _revocation_delay(base: str, admin: dict[str, str], certificate_id: str) -> float:
    """Seconds from sending a revocation until ``/v1/verify/{id}`` first shows it."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        start = time.perf_counter()
        revoked = await client.post(
            f"/v1/certificates/{certificate_id}/status",
            json={"action": "revoke", "reason": "safety_concern", "note": "Benchmark revocation."},
            headers=admin,
        )
        if revoked.status_code != 200:
            raise RuntimeError(f"revocation refused: {revoked.status_code} {revoked.text}")
        while time.perf_counter() - start < REVOCATION_TIMEOUT_S:
            answer = (await client.get(f"/v1/verify/{certificate_id}")).json()
            if (answer.get("certificate") or {}).get("status") == "revoked":
                if answer["verdict"] != "not_good_to_go":
                    raise RuntimeError(f"a revoked certificate verified as {answer['verdict']}")
                return time.perf_counter() - start
            await asyncio.sleep(0.005)
    return float("inf")


# --- the benchmark ---------------------------------------------------------------------------


async def run(env: Environment, load: LoadGenerator, certificates: int) -> None:
    """Seed certificates, start the server, load both routes, then time a revocation."""
    async with database():
        world = await seed_people()
        await init_keys()
        ids = await issue_certificates(certificates, world)
    verify_paths = [f"/v1/verify/{certificate_id}" for certificate_id in ids]
    print_configuration(
        "verify by ID over HTTP: GET /v1/verify/{id} vs GET /bare, same server",
        {
            "engine": env.describe(),
            "data": f"{len(ids)} issued certificates (tiny set), verified in turn",
            "server": "1 uvicorn process (uvloop, httptools), bench.servers:app_with_bare, "
            "access log on (to /dev/null)",
            "load generator": load.describe(),
            "rate limit": "load generator's address 127.0.0.1 exempt (REGISTRY_RATE_LIMIT_EXEMPT)",
            "load average": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        },
    )
    async with _server(env) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            first = (await client.get(verify_paths[0])).json()
        if first.get("verdict") != "good_to_go":
            raise RuntimeError(f"expected good_to_go from the server, got {first}")
        warm = max(2.0, load.seconds / 5)
        await load.run(base, ["/bare"], warm)
        await load.run(base, verify_paths, warm)
        bare = await load.run(base, ["/bare"])
        verify = await load.run(base, verify_paths)
        # The revocation is sent while other verifiers keep the server busy.
        background = asyncio.create_task(load.run(base, verify_paths[1:] or verify_paths, 4))
        await asyncio.sleep(1)
        delay = await _revocation_delay(base, world.admin.headers, ids[0])
        under_load = await background
    ratio = verify.throughput / bare.throughput
    print("figures:")
    print(f"  GET /bare              {bare.line()}")
    print(f"  GET /v1/verify/{{id}}    {verify.line()}")
    print(f"  verify during revoke   {under_load.line()}")
    print(f"  revocation visible after {delay * 1000:.1f} ms (from sending it, under load)")
    print(f"  load average at end    {'{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())}")
    valid = bare.errors == 0 and verify.errors == 0
    if not valid:
        print("  WARNING: errors during the loads: the figures do not stand")
    ratio_met = valid and ratio >= RATIO_BAR
    p99_met = valid and verify.p99_ms <= P99_BAR_MS
    revocation_met = delay <= REVOCATION_BAR_S
    print_bar("verify throughput / bare throughput", f"{ratio:.3f}", f"≥ {RATIO_BAR}", ratio_met)
    print_bar("verify p99 at 32 connections", f"{verify.p99_ms:.2f} ms", "≤ 20 ms", p99_met)
    print_bar("revocation visible", f"{delay * 1000:.1f} ms", "≤ 1000 ms", revocation_met)
    print_bar(
        "verify by ID (all three)",
        "ratio, p99, revocation",
        "all met",
        ratio_met and p99_met and revocation_met,
    )


def main() -> None:
    """Parse options, make the environment, run."""
    parser = argument_parser("Verify by ID over HTTP against a bare Litestar route")
    parser.add_argument("--connections", type=int, default=32, help="concurrency (default 32)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per load (default 10)")
    parser.add_argument(
        "--requests", type=int, default=3000, help="request cap per httpx load (default 3000)"
    )
    parser.add_argument(
        "--certificates", type=int, default=20, help="certificates seeded (default 20)"
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator (default: wrk when installed, else httpx)",
    )
    args = parser.parse_args()
    tool = args.load
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "httpx"
    with environment(args.postgres) as env:
        load = LoadGenerator(tool, args.connections, args.seconds, args.requests, env.data_dir)
        asyncio.run(run(env, load, args.certificates))


if __name__ == "__main__":
    main()
