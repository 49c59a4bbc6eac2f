"""What committing an alert to the store costs the alert path, beside the file sink.

    .venv/bin/python bench/store.py [--alerts 200] [--postgres URL]

A deployment commits each alert (its two face images encrypted) before any sink sends it
(``deploy/live.StoreFirstSink``), so the commit adds to the alert's latency. This times, per alert and
in the same run: the file sink (JSON line + images, fsync'd: what ``lfr watch`` writes), the store on
SQLite (WAL, ``synchronous=FULL``) and, with ``--postgres``, on PostgreSQL. The alerts are real: the
demo's Obama probe face against its watchlist face. Prints median and 95th percentile milliseconds,
and each store's ratio to the file sink.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from pydantic import SecretStr

from _signing import throwaway_signing_key
from openlfr.alert.rules import jpeg
from openlfr.alert.sinks import create_file
from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.config import CameraConfig, FileSinkConfig, StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.review.alerts import Alerts
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.types import Alert, BoundingBox, Category


def _alert(probe: bytes, listed: bytes) -> Alert:
    now = time.time()
    return Alert(
        alert_id=uuid.uuid4().hex, camera_id="cam", track_id=1, watchlist="demo", subject_id="obama",
        display_name="Barack Obama", category=Category.OTHER, score=0.99, threshold=0.9,
        box=BoundingBox(10, 10, 90, 90), probe_jpeg=probe, watchlist_jpeg=listed, first_seen_wall=now,
        first_seen_pts=0.0, frame_pts=0.0, frame_captured_wall=now, frame_captured_mono=time.monotonic(),
        raised_wall=now, frames=5,
    )  # fmt: skip


def _live_deployment(store: Store, demo: Path, analyzer: FaceAnalyzer) -> str:
    watchlist, _ = enrol(from_csv(demo / "watchlist.csv"), analyzer, name="demo")
    service, now = Deployments(store), datetime.now(UTC)
    dep = service.create(
        name="bench", location_name="bench", purpose="bench", legal_basis="bench", planned_start=now,
        planned_end=now + timedelta(days=1), cameras=[CameraConfig(id="cam", source="x.mp4")], created_by="a",
    )  # fmt: skip
    service.set_watchlist(dep.id, watchlist, "a")
    service.set_threshold(dep.id, "a", value=0.9, justification="benchmark of the alert path only")
    service.authorise(dep.id, "b")
    service.start(dep.id, "c")
    return dep.id


def _time(send: object, alerts: list[Alert]) -> np.ndarray:
    out = []
    for alert in alerts:
        t0 = time.perf_counter()
        send(alert)  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000.0)
    return np.array(out)


def main() -> None:
    throwaway_signing_key()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--postgres", help="SQLAlchemy URL of an empty PostgreSQL database to use")
    args = parser.parse_args()
    demo, analyzer = demo_dir(), FaceAnalyzer()
    face = analyzer.analyze(analyzer.load(demo / "probes" / "obama_congress_2009.jpg"))[0]
    listed = analyzer.analyze(analyzer.load(demo / "watchlist" / "obama.jpg"))[0]
    probe_jpeg, listed_jpeg = jpeg(face.aligned.chip), jpeg(listed.aligned.chip)
    alerts = [_alert(probe_jpeg, listed_jpeg) for _ in range(args.alerts)]
    results: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sink = create_file(FileSinkConfig(path=Path(tmp) / "alerts.jsonl"))
        results["file sink (fsync)"] = _time(sink.send, alerts)
        sink.close()
        targets = [("store, SQLite WAL", None)] + ([("store, PostgreSQL", args.postgres)] if args.postgres else [])
        for name, url in targets:
            store = Store.open(StoreConfig(url=url, data_dir=Path(tmp) / name[-6:], key=SecretStr(generate_key())))
            dep_id = _live_deployment(store, demo, analyzer)
            service = Alerts(store)
            fresh = [replace(a, alert_id=uuid.uuid4().hex) for a in alerts]
            results[name] = _time(lambda a, s=service, d=dep_id: s.store_alert(d, a), fresh)
            store.close()
    base = float(np.median(results["file sink (fsync)"]))
    print(f"{platform.processor() or platform.machine()}, {datetime.now(UTC):%Y-%m-%d}, {args.alerts} alerts")
    print(f"{'':<22} {'p50 ms':>8} {'p95 ms':>8} {'x file sink (p50)':>18}")
    for name, ms in results.items():
        p50, p95 = np.percentile(ms, [50, 95])
        print(f"{name:<22} {p50:8.2f} {p95:8.2f} {p50 / base:18.1f}")


if __name__ == "__main__":
    main()
