"""Names are data, never markup: hostile text in every field a user supplies goes through every command
that prints it, and comes out shown as itself (Rich markup escaped, control characters made visible),
never as a traceback, a cleared screen or a spreadsheet formula.

Real processes, a real store, the bundled demo faces."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.analysis import FaceAnalyzer
from openlfr.config import StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.match.watchlist import Watchlist
from openlfr.review.alerts import Alerts
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.text import FORMULA_PREFIXES, csv_cell, term, visible
from reviewing import make_alert

HOSTILE = ["[/]", "[bold red]x", "\x1b[2J", "=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "-2+3"]
OBAMA = "=cmd|' /C calc'!A0 [/] \x1b[2J"
BIDEN = "+1 [bold red]x @SUM(A1)"
REASON = "-2+3 [/] wanted \x1b[31m"
JUSTIFICATION = "+1 [/] set by hand for this test \x1b[2J"


def lfr(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "openlfr", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )
    assert out.returncode == 0, f"{args}: {out.stdout}{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr
    assert "\x1b" not in out.stdout + out.stderr, f"{args}: a raw escape reached the terminal"
    return out


@pytest.mark.parametrize("name", HOSTILE)
def test_term_shows_a_name_as_itself_and_csv_cell_disarms_formulas(name: str) -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, emoji=False)
    console.print(f"[bold]name:[/] {term(name)}")
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert printed == f"name: {visible(name)}\n"
    assert "\x1b" not in printed
    cell = csv_cell(name)
    assert isinstance(cell, str) and not cell.startswith(FORMULA_PREFIXES) and cell.endswith(visible(name))


def test_visible_shows_every_control_character_and_keeps_lines_only_when_asked() -> None:
    assert visible("a\x1b[2Jb\x07\x9b\u202e") == "a\\x1b[2Jb\\x07\\x9b\\u202e"
    assert visible("one\ntwo") == "one\\x0atwo"
    assert visible("one\ntwo", lines=True) == "one\ntwo"


@pytest.fixture
def hostile_watchlist(tmp_path: Path, demo: Path) -> Path:
    manifest = tmp_path / "hostile.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["subject_id", "display_name", "category", "reason", "image_source", "expires", "image"])
        for subject, name in (("obama", OBAMA), ("biden", BIDEN)):
            image = demo / "watchlist" / f"{subject}.jpg"
            writer.writerow([subject, name, "wanted", REASON, "@SUM(A1) [/]", "2099-12-31", image])
    out = lfr("enrol", manifest, "-o", tmp_path / "hostile.lfrw", "--allow-outside")
    assert "2 accepted" in out.stdout
    return tmp_path / "hostile.lfrw"


def test_hostile_names_through_the_still_commands_and_watch(
    hostile_watchlist: Path, tmp_path: Path, demo: Path
) -> None:
    shown = lfr("watchlist", "show", hostile_watchlist).stdout
    for text in (OBAMA, BIDEN, REASON, "@SUM(A1) [/]"):
        assert visible(text) in shown, text

    probes = tmp_path / "probes"
    probes.mkdir()
    hostile_file = probes / "[bold red]x \x1b[2J.jpg"
    hostile_file.write_bytes((demo / "probes" / "obama_congress_2009.jpg").read_bytes())
    found = lfr("search", probes, "-w", hostile_watchlist, "-k", "2").stdout
    assert visible(hostile_file.name) in found and visible(OBAMA) in found

    clip = demo / "video" / "walkthrough.mp4"
    watched = lfr("watch", clip, "--fast", "-w", hostile_watchlist, "--allow-uncalibrated")
    alerts = [json.loads(line) for line in watched.stdout.splitlines()]
    assert {a["subject"]["display_name"] for a in alerts} == {OBAMA, BIDEN}  # JSON carries the name as it is
    assert f"ALERT cam1 {visible(OBAMA)}" in watched.stderr
    assert f"stopped: {len(alerts)} alert(s)" in watched.stderr


def test_hostile_names_through_the_store_commands(
    hostile_watchlist: Path, tmp_path: Path, demo: Path, analyzer: FaceAnalyzer
) -> None:
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    assert config.key is not None
    env = {"LFR_STORE__DATA_DIR": str(config.data_dir), "LFR_STORE__KEY": config.key.get_secret_value()}
    name, location, purpose, basis = "[/]\x1b[2J", "=cmd|' /C calc'!A0", "[bold red]x", "@SUM(A1) -2+3"
    created = lfr(
        *("deployment", "create", "--name", name, "--location", location, "--purpose", purpose),
        *("--legal-basis", basis, "--camera", "cam-1=clip.mp4"),
        *("--start", "2026-01-01T09:00+00:00", "--end", "2099-01-01T17:00+00:00", "--json"),
        env=env,
    )
    dep_id = json.loads(created.stdout)["id"]
    lfr("deployment", "watchlist", dep_id, hostile_watchlist, env=env)
    lfr("deployment", "threshold", dep_id, "--value", "0.6", "--justification", JUSTIFICATION, env=env)
    watchlist = Watchlist.load(hostile_watchlist)
    store = Store.open(config)
    try:
        Deployments(store).authorise(dep_id, "[bold red]supt \x1b[2J")
        Deployments(store).start(dep_id, "-2+3 [/]")
        alert = make_alert(analyzer, demo, watchlist)
        Alerts(store).store_alert(dep_id, alert)
    finally:
        store.close()

    for args in (("deployment", "show", dep_id), ("deployment", "list")):
        out = lfr(*args, env=env).stdout
        for text in (name, location):
            assert visible(text) in out, (args, text)
    shown = lfr("deployment", "show", dep_id, env=env).stdout
    for text in (purpose, basis, OBAMA, REASON, "[bold red]supt \x1b[2J", JUSTIFICATION):
        assert visible(text) in shown, text

    lfr("alerts", "adjudicate", alert.alert_id, "operator", "match", "--note", "=1+1 [/] \x1b[2J", env=env)
    listed = lfr("alerts", "list", env=env).stdout
    assert visible(OBAMA) in listed
    detail = lfr("alerts", "show", alert.alert_id, env=env).stdout
    assert visible(OBAMA) in detail and visible("=1+1 [/] \x1b[2J") in detail

    report = lfr("deployment", "report", "--format", "csv", env=env).stdout
    (row,) = csv.DictReader(io.StringIO(report))
    assert row["name"] == visible(name)
    assert row["location"] == "'" + location
    assert row["authorised_by"] == visible("[bold red]supt \x1b[2J")
    table = lfr("deployment", "report", env=env).stdout
    assert visible(location) in table


@pytest.mark.parametrize(
    ("command", "word"),
    [
        (["watchlist", "calibrate"], "[match.normalisation]"),
        (["deployment", "create"], "[[cameras]]"),
        (["serve"], "[api] host"),
        (["retention", "purge"], "[store.retention]"),
        (["watch"], "([[cameras]] id"),
    ],
)
def test_help_keeps_its_bracketed_words(command: list[str], word: str) -> None:
    from typer.testing import CliRunner

    from openlfr.cli.main import app

    out = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "300"})
    assert out.exit_code == 0, out.output
    assert word in out.output
