"""Bad uploads through the API: refused whole with a reason per file, nothing stored; names that
look like formulas are data, and come out escaped in CSV exports."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from openlfr.auth.roles import Role
from openlfr.config import StoreConfig
from openlfr.store.db import Store
from serving import Client, ServedApp, serve

from .conftest import api_settings

ROW = "{sid},{name},wanted,warrant W-1 (test),custody image (test),{exp},{image}\n"
HEADER = "subject_id,display_name,category,reason,image_source,expires,image\n"
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def small(tmp_path: Path, sqlite_store: Store) -> Iterator[ServedApp]:
    """A server with small upload limits, so that the tests can break them cheaply."""
    settings = api_settings(
        StoreConfig(data_dir=tmp_path, dev_mode=True), max_upload_bytes=2_000_000, max_upload_files=50
    )
    with serve(settings, sqlite_store) as served:
        yield served


def _draft(c: Client, name: str = "bad input (test)") -> str:
    now = datetime.now(UTC)
    r = c.post(
        "/api/v1/deployments",
        json={
            "name": name,
            "location_name": "+44 street (test)",
            "purpose": "test",
            "legal_basis": "test basis",
            "planned_start": now.isoformat(),
            "planned_end": (now + timedelta(hours=1)).isoformat(),
            "cameras": [{"id": "cam-1", "source": "rtsp://127.0.0.1:9/none"}],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _manifest(*rows: tuple[str, str, str]) -> bytes:
    exp = (date.today() + timedelta(days=30)).isoformat()
    return (HEADER + "".join(ROW.format(sid=s, name=n, exp=exp, image=i) for s, n, i in rows)).encode()


def _entries(c: Client, dep: str) -> int:
    return len(c.get(f"/api/v1/deployments/{dep}").json()["entries"])


def test_bad_uploads_are_refused_whole_and_nothing_is_stored(small: ServedApp, demo: Path) -> None:
    small.add_user("sup.one", Role.SUPERVISOR)
    c = small.client("sup.one")
    dep = _draft(c)
    obama = (demo / "watchlist" / "obama.jpg").read_bytes()
    url = f"/api/v1/deployments/{dep}/watchlist"

    big = c.post(
        url,
        files=[
            ("manifest", ("m.csv", _manifest(("a", "A", "a.jpg")), "text/csv")),
            ("images", ("a.jpg", b"\xff" * 3_500_000, "image/jpeg")),
        ],
    )
    assert big.status_code == 413 and big.json()["error"] == "limit_exceeded"

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(10_000):
            zf.writestr(f"face{i:05d}.png", b"\x89PNG tiny")
    r = c.post(
        url,
        files=[
            ("manifest", ("m.csv", _manifest(("a", "A", "face00000.png")), "text/csv")),
            ("archive", ("faces.zip", archive.getvalue(), "application/zip")),
        ],
    )
    assert r.status_code == 413 and "10000 files" in r.json()["message"]

    r = c.post(
        url,
        files=[
            ("manifest", ("m.csv", _manifest(("a", "A", "../../etc/passwd")), "text/csv")),
            ("images", ("../../etc/passwd", obama, "image/jpeg")),
        ],
    )
    assert r.status_code == 422 and r.json()["error"] == "upload_refused", r.text
    assert any("plain name" in p for p in r.json()["problems"])

    r = c.post(
        url,
        files=[
            ("manifest", ("m.csv", _manifest(("a", "A", "a.jpg"), ("b", "B", "b.jpg")), "text/csv")),
            ("images", ("a.jpg", obama, "image/jpeg")),
            ("images", ("b.jpg", b"this is not an image at all", "image/jpeg")),
        ],
    )
    assert r.status_code == 422 and r.json()["error"] == "upload_refused"
    assert any(p.startswith("'b.jpg'") and "not_an_image" in p for p in r.json()["problems"]), r.json()

    r = c.post(
        url,
        files=[
            ("manifest", ("m.csv", _manifest(("a", "A", "a.jpg"), ("c", "C", "c.jpg")), "text/csv")),
            ("images", ("a.jpg", obama, "image/jpeg")),
        ],
    )
    assert r.status_code == 422 and any("'c.jpg' was not uploaded" in p for p in r.json()["problems"])

    assert _entries(c, dep) == 0, "nothing was stored by any refused upload"
    assert c.get("/healthz").status_code == 200


def test_formula_names_are_data_and_come_out_escaped_in_csv(small: ServedApp, demo: Path) -> None:
    small.add_user("sup.one", Role.SUPERVISOR)
    small.add_user("aud.patel", Role.AUDITOR)
    c = small.client("sup.one")
    dep = _draft(c, name=FORMULA)
    obama = (demo / "watchlist" / "obama.jpg").read_bytes()
    r = c.post(
        f"/api/v1/deployments/{dep}/watchlist",
        files=[
            ("manifest", ("m.csv", _manifest(("obama", FORMULA.replace(",", ";"), "obama.jpg")), "text/csv")),
            ("images", ("obama.jpg", obama, "image/jpeg")),
        ],
    )
    assert r.status_code == 200, r.text
    [entry] = c.get(f"/api/v1/deployments/{dep}").json()["entries"]
    assert entry["display_name"] == FORMULA.replace(",", ";"), "stored as the text it is"
    text = small.client("aud.patel").get(f"/api/v1/deployments/{dep}/report", params={"format": "csv"}).text
    assert "'" + FORMULA in text and "'+44 street (test)" in text
    assert "\n" + FORMULA not in text and "," + FORMULA not in text
