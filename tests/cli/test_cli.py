"""The ``lfr`` command as a user runs it: a real process, real files, its exit status and output."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def lfr(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openlfr", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["enrol"],
        ["search"],
        ["models"],
        ["demo"],
        ["watchlist", "show"],
        ["watchlist", "check"],
        ["watchlist", "calibrate"],
        ["cohort", "build"],
    ],
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    out = lfr(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert "Example" in out.stdout or (command == [] and "--help with an example" in out.stdout)


def test_demo_names_the_watchlist_and_not_the_stranger() -> None:
    out = lfr("demo", "--fast")
    assert out.returncode == 0, out.stderr
    assert "live: 2 alert(s) for Barack Obama, Joe Biden" in out.stdout
    assert "stills: named Barack Obama, Joe Biden;" in out.stdout
    assert "2 accepted, 0 rejected" in out.stdout


def test_enrol_show_check_search(tmp_path: Path, demo: Path) -> None:
    watchlist = tmp_path / "w.lfrw"
    out = lfr("enrol", demo / "watchlist.csv", "-o", watchlist, "--report", tmp_path / "report.json")
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout and watchlist.is_file()
    assert len(json.loads((tmp_path / "report.json").read_text())["accepted"]) == 2

    shown = lfr("watchlist", "show", watchlist)
    assert shown.returncode == 0 and "Barack Obama" in shown.stdout and "2099-12-31" in shown.stdout

    checked = lfr("watchlist", "check", watchlist)
    assert checked.returncode == 1, "category 'other' and the default threshold are not fit to deploy"
    assert "category is 'other'" in checked.stdout and "not calibrated for this watchlist" in checked.stdout

    found = lfr("search", demo / "probes", "-w", watchlist, "--format", "jsonl", "-k", "1")
    assert found.returncode == 0, found.stderr
    lines = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(lines) == 4
    named = {f["match"] for line in lines for f in line["faces"]} - {None}
    assert named == {"obama", "biden"}


def test_an_error_is_one_clear_line_and_verbose_shows_the_trace(tmp_path: Path, demo: Path) -> None:
    out = lfr("search", demo / "probes", "-w", tmp_path / "none.lfrw")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [f"error: watchlist file not found: {tmp_path / 'none.lfrw'}"]
    verbose = lfr("--verbose", "search", demo / "probes", "-w", tmp_path / "none.lfrw")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_unknown_config_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "lfr.toml"
    config.write_text("[detector]\ntype = 'hog'\nupsampel = 2\n")
    out = lfr("--config", config, "watchlist", "check", tmp_path / "x.lfrw")
    assert out.returncode == 1
    assert "invalid configuration" in out.stderr and "upsampel" in out.stderr


def test_models_lists_installed_files_with_checksums() -> None:
    out = lfr("models", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["model"]: r for r in json.loads(out.stdout)}
    assert {"dlib_resnet", "dlib_shape5", "dlib_mmod", "blazeface_full"} <= set(rows)
    for key in ("dlib_resnet", "dlib_shape5", "blazeface_full"):
        assert rows[key]["path"] and len(rows[key]["sha256"]) == 64, key
        assert rows[key]["licence"]


def test_watch_a_clip_alerts_as_json_lines_and_to_a_file(tmp_path: Path, demo: Path) -> None:
    watchlist = tmp_path / "w.lfrw"
    assert lfr("enrol", demo / "watchlist.csv", "-o", watchlist).returncode == 0
    clip = demo / "video" / "walkthrough.mp4"
    refused = lfr("watch", clip, "--fast", "-w", watchlist, "--quiet")
    assert refused.returncode == 1 and "never calibrated; live matching refused" in refused.stderr
    assert "--allow-uncalibrated" in refused.stderr and refused.stdout == ""
    args = ["--quiet", "--alerts-file", tmp_path / "alerts.jsonl", "--allow-uncalibrated"]
    out = lfr("watch", clip, "--fast", "-w", watchlist, *args)
    assert out.returncode == 0, out.stderr
    assert "UNCALIBRATED THRESHOLD, override given" in out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert sorted(line["subject"]["id"] for line in lines) == ["biden", "obama"]
    assert all(line["uncalibrated"] for line in lines), "every alert records the override"
    assert all("probe_jpeg_b64" not in line for line in lines), "stdout carries no images"
    kept = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert len(kept) == 2
    assert "stopped: 2 alert(s)" in out.stderr


def test_watch_takes_cameras_from_a_yaml_config_and_refuses_unknown_keys(tmp_path: Path, demo: Path) -> None:
    watchlist = tmp_path / "w.lfrw"
    assert lfr("enrol", demo / "watchlist.csv", "-o", watchlist).returncode == 0
    clip = demo / "video" / "walkthrough.mp4"
    config = tmp_path / "cameras.yaml"
    config.write_text(
        f"live:\n  allow_uncalibrated: true\ncameras:\n  - id: gate\n    source: {clip}\n    realtime: false\n"
        "    analysis_fps: 5\n"
    )
    out = lfr("--config", config, "watch", "-w", watchlist, "--quiet")
    assert out.returncode == 0, out.stderr
    assert {json.loads(line)["camera_id"] for line in out.stdout.splitlines()} == {"gate"}
    config.write_text(f"cameras:\n  - id: gate\n    source: {clip}\n    fsp: 5\n")
    bad = lfr("--config", config, "watch", "-w", watchlist)
    assert bad.returncode == 1 and "cameras.0.fsp: Extra inputs are not permitted" in bad.stderr


def test_watch_without_a_camera_says_so(tmp_path: Path) -> None:
    out = lfr("watch", "-w", tmp_path / "w.lfrw")
    assert out.returncode == 1 and "no camera" in out.stderr


def test_cohort_build_and_calibrate_normalise_a_watchlist_that_watch_then_accepts(
    tmp_path: Path, demo: Path, shared_data: Path
) -> None:
    watchlist, cohort = tmp_path / "w.lfrw", tmp_path / "c.lfrc"
    assert lfr("enrol", demo / "watchlist.csv", "-o", watchlist).returncode == 0
    root = shared_data / "fairface_val"
    rows = list(csv.DictReader((root / "manifest.csv").open()))[:150]
    faces = tmp_path / "faces"
    faces.mkdir()
    for row in rows:
        (faces / Path(row["path"]).name).symlink_to(root / row["path"])
    labels = tmp_path / "groups.csv"
    labels.write_text("path,group\n" + "".join(f"{Path(r['path']).name},{r['race']}\n" for r in rows))
    built = lfr("cohort", "build", faces, "-o", cohort, "--source", "FairFace val, 150", "--labels", labels)
    assert built.returncode == 0, built.stderr
    mated = tmp_path / "mated.csv"  # the demo portraits again, as the subjects' "other photos"
    mated.write_text((demo / "watchlist.csv").read_text().replace("watchlist/", f"{demo}/watchlist/"))
    out = lfr(
        "watchlist", "calibrate", watchlist, "--cohort", cohort, "--fpir", "0.05", "--mated", mated, "--allow-outside"
    )
    assert out.returncode == 0, out.stderr
    assert "scores: zt (cohort top 400, fair 25 clusters" in out.stdout
    assert "false-alert rate of cohort group East Asian" in out.stdout
    assert "expected TPIR (mated photos found at the threshold): 1.000" in out.stdout
    shown = lfr("watchlist", "show", watchlist)
    assert "format v2" in shown.stdout and "cohort: FairFace val, 150" in shown.stdout
    checked = lfr("watchlist", "check", watchlist)
    assert "not calibrated" not in checked.stdout
    watched = lfr("watch", demo / "video" / "walkthrough.mp4", "--fast", "-w", watchlist, "--quiet")
    assert watched.returncode == 0, watched.stderr
    assert "UNCALIBRATED" not in watched.stderr
    assert all(not json.loads(line)["uncalibrated"] for line in watched.stdout.splitlines())
