"""Immediate deletion: nothing about a face that raised no alert reaches the disk or the database.

A live deployment watches the Hamilton clip for the performer only: the audience (the Obamas among
them) passes in front of the camera and raises no alert. Every probe template the run computed is
recorded on its way to matching; afterwards the store's files, the database's rows (SQLite and
PostgreSQL, and the PostgreSQL server's own files) and the temporary folders are searched for any of
those templates' bytes (and the store's files for any unencrypted image), and the only biometric rows
are the alerts' and the watchlist's own, encrypted.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, func, select

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig, Settings, StoreConfig
from openlfr.deploy.live import run_deployment
from openlfr.live.pipeline import CameraPipeline
from openlfr.match.enrol import EnrolItem, enrol
from openlfr.match.watchlist import Subject
from openlfr.review.alerts import probe_context
from openlfr.store.db import Store
from openlfr.store.models import AlertRow, Base, EntryTemplate
from openlfr.types import TemplateSet

JFIF = b"\xff\xd8\xff\xe0"  # how every JPEG that openlfr encodes begins
PNG = b"\x89PNG\r\n\x1a\n"
TEMP_DIRS = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]


def _files(roots: list[Path]) -> dict[Path, float]:
    found: dict[Path, float] = {}
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                try:
                    if path.is_file() and not path.is_symlink():
                        found[path] = path.stat().st_mtime
                except OSError:
                    continue
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_a_live_run_leaves_no_trace_of_faces_that_raised_no_alert(
    store_config: StoreConfig,
    shared_data: Path,
    analyzer: FaceAnalyzer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = shared_data / "videos" / "hamilton_whitehouse"
    item = EnrolItem(
        Subject(subject_id="lin-manuel-miranda", display_name="L-M M"), root / "enrol" / "lin-manuel-miranda.png"
    )
    watchlist, _ = enrol([item], analyzer, name="hamilton-lin")
    run_tmp = tmp_path / "run-tmp"
    run_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(run_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(run_tmp))
    templates: list[TemplateSet] = []
    original = CameraPipeline._match

    def recording(self: CameraPipeline, track, book, shot, template: TemplateSet) -> None:  # type: ignore[no-untyped-def]
        templates.append(template)
        original(self, track, book, shot, template)

    monkeypatch.setattr(CameraPipeline, "_match", recording)
    store = Store.open(store_config)
    camera = CameraConfig(id="whitehouse", source=str(root / "short_hamilton_clip.mp4"), realtime=False)
    dep = live_deployment(store, watchlist, [camera])
    before = _files([*TEMP_DIRS, run_tmp])
    summary = run_deployment(store, Settings(store=store_config), dep.id, "insp.operator")

    # The run must have seen many faces that raised no alert, and raised at least one alert.
    assert summary.alerts >= 1 and summary.alerts_not_stored == 0
    assert summary.faces_seen > 20 * summary.alerts
    assert len(templates) >= summary.alerts + 3, "faces were searched that raised no alert"
    needles = [vector.tobytes()[:32] for t in templates for vector in t.values()]

    # 1. The database holds biometric data only in the alert and watchlist tables, all encrypted.
    binary_tables = {
        c.table.name for t in Base.metadata.sorted_tables for c in t.columns if isinstance(c.type, LargeBinary)
    }
    assert binary_tables == {"alerts", "entry_templates", "deployments"}  # deployments: the cohort, encrypted
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertRow)) == summary.alerts
        assert s.scalar(select(func.count()).select_from(EntryTemplate)) == len(watchlist.manifest.templates)
        for row in s.scalars(select(AlertRow)):
            assert row.probe_jpeg_enc is not None and JFIF not in row.probe_jpeg_enc
            assert store.cipher.decrypt(row.probe_jpeg_enc, probe_context(row.id)).startswith(JFIF)
        for blob in s.scalars(select(EntryTemplate.vector_enc)):
            assert not any(n in blob for n in needles)
    store.close()

    # 2. No file of the store, of the database server, or new in a temporary folder holds a probe
    #    template's bytes or an unencrypted image.
    files = list(_files([store_config.data_dir]))
    if store_config.url:  # PostgreSQL: the server's own data files, write-ahead log included
        server = os.environ.get("LFR_TEST_POSTGRES_DIR")
        assert server, "LFR_TEST_POSTGRES_DIR names the test server's folder (scripts/postgres sets it)"
        files += [p for p in _files([Path(server)]) if "/pg_wal/" in str(p) or "/base/" in str(p)]
    else:
        assert {p.name for p in files} <= {"openlfr.sqlite", "openlfr.sqlite-wal", "openlfr.sqlite-shm"}
    after = _files([*TEMP_DIRS, run_tmp])
    new_temp = [p for p, mtime in after.items() if p not in before or before[p] != mtime]
    assert not list(_files([run_tmp])), "the run wrote to its temporary folder"
    for path in files + new_temp:
        data = _read(path)
        assert not any(n in data for n in needles), f"{path} holds a probe template"
        # Images: the store's own files (other programs may write images to /tmp while this runs).
        if not store_config.url and path in files:
            assert JFIF not in data and PNG not in data, f"{path} holds an unencrypted image"
