"""The service under load: alert from frame capture to SSE clients, and alert listing throughput.

    .venv/bin/python bench/api.py [--clients 1,10,100] [--seconds 40] [--list-seconds 10]

Starts ``lfr serve`` as its own process over a fresh store holding one live deployment: the bundled
demo clip, looping in real time, against the demo watchlist (Obama, Biden), so each pass raises two
alerts (cooldown 2 s). For each client count N, N operator clients (one asyncio loop in this
process, bearer token) hold the deployment's alert stream open for ``--seconds``; each alert an
event carries is timed from its frame's capture (``frame_captured``) to its arrival at each client.
Then 8 concurrent clients list the deployment's alerts for ``--list-seconds``: requests per second.
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr

from _signing import throwaway_signing_key
from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.config import ApiConfig, CameraConfig, StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.types import Category

LFR = Path(sys.executable).with_name("lfr")


def _setup(data: Path, key: str) -> tuple[str, str]:
    """A live deployment of the demo clip (looping) and an operator token; (deployment id, token)."""
    store = Store.open(StoreConfig(data_dir=data, key=SecretStr(key)))
    watchlist, _ = enrol(from_csv(demo_dir() / "watchlist.csv"), FaceAnalyzer(), name="demo")
    subjects = [
        s.model_copy(
            update={
                "category": Category.WANTED,
                "reason": "bench",
                "image_source": "bench",
                "expires": date.today() + timedelta(days=7),
            }
        )
        for s in watchlist.manifest.subjects
    ]
    from dataclasses import replace

    watchlist = replace(watchlist, manifest=watchlist.manifest.model_copy(update={"subjects": subjects}))
    service = Deployments(store)
    now = datetime.now(UTC)
    camera = CameraConfig(id="demo-cam", source=str(demo_dir() / "video" / "walkthrough.mp4"), loop=True)
    dep = service.create(
        name="bench",
        location_name="bench",
        purpose="bench",
        legal_basis="bench",
        planned_start=now - timedelta(minutes=1),
        planned_end=now + timedelta(hours=3),
        cameras=[camera],
        created_by="bench.creator",
    )
    service.set_watchlist(dep.id, watchlist, "bench.creator")
    service.set_threshold(
        dep.id,
        "bench.creator",
        value=watchlist.threshold,
        justification="bench: the uncalibrated default, for timing only",
    )
    service.authorise(dep.id, "bench.authoriser")
    service.start(dep.id, "bench.creator")
    _, token = Tokens(store, ApiConfig()).create("bench-operator", Role.OPERATOR, "local:bench", days=1)
    store.close()
    return dep.id, token


Delays = list[tuple[float, float]]
"""(frame capture to alert raised, alert raised to arrival at the client) per delivery, seconds."""


async def _listen(url: str, token: str, dep: str, seconds: float, out: Delays, ready: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=None) as client,
        client.stream("GET", f"/api/v1/deployments/{dep}/alerts/stream") as r,
    ):
        ready.set()
        end = time.monotonic() + seconds
        lines = r.aiter_lines()
        while time.monotonic() < end:
            try:
                line = await asyncio.wait_for(lines.__anext__(), timeout=max(0.1, end - time.monotonic()))
            except (TimeoutError, StopAsyncIteration):
                break
            if line.startswith("data: "):
                event = json.loads(line[6:])
                arrived = time.time()
                captured = datetime.fromisoformat(event["frame_captured"].replace("Z", "+00:00")).timestamp()
                raised = datetime.fromisoformat(event["raised_at"]).timestamp()
                out.append((raised - captured, arrived - raised))


async def _stream_round(url: str, token: str, dep: str, clients: int, seconds: float) -> Delays:
    delays: Delays = []
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(_listen(url, token, dep, seconds, delays, r)) for r in readies]
    await asyncio.gather(*tasks)
    return delays


async def _list_round(url: str, token: str, dep: str, seconds: float, workers: int = 8) -> float:
    count = 0
    end = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal count
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            while time.monotonic() < end:
                r = await client.get("/api/v1/alerts", params={"deployment": dep, "limit": 50})
                r.raise_for_status()
                count += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return count / seconds


def _pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank), NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    throwaway_signing_key()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,10,100")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--list-seconds", type=float, default=10.0)
    args = parser.parse_args()
    key = generate_key()
    with tempfile.TemporaryDirectory(prefix="lfr-bench-api-") as tmp:
        data = Path(tmp) / "lfr-data"
        dep, token = _setup(data, key)
        port = 18000 + os.getpid() % 1000
        env = {
            **os.environ,
            "LFR_STORE__KEY": key,
            "LFR_STORE__DATA_DIR": str(data),
            "LFR_LIVE__TRACKER__ALERT_COOLDOWN_S": "2",
            "LFR_API__REQUESTS_PER_MINUTE": "10000000",
            "LFR_LIVE__SINKS": "[]",
        }
        server = subprocess.Popen(
            [str(LFR), "serve", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.5)
            rows = []
            for n in (int(c) for c in args.clients.split(",")):
                delays = asyncio.run(_stream_round(url, token, dep, n, args.seconds))
                total = [a + b for a, b in delays]
                service = [b for _, b in delays]
                quantiles = (_pct(total, 0.5), _pct(total, 0.95), _pct(service, 0.5), _pct(service, 0.95))
                rows.append((n, len(delays), *quantiles))
            rps = asyncio.run(_list_round(url, token, dep, args.list_seconds))
        finally:
            server.terminate()
            server.wait(60)
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print("| SSE clients | deliveries | capture to client p50 / p95 (s) | of which raised to client p50 / p95 (s) |")
    print("|---|---|---|---|")
    for n, count, p50, p95, s50, s95 in rows:
        print(f"| {n} | {count} | {p50:.3f} / {p95:.3f} | {s50:.3f} / {s95:.3f} |")
    print(f"\nalert listing (GET /api/v1/alerts, 50 per page, 8 concurrent clients): {rps:.0f} requests/s")


if __name__ == "__main__":
    main()
