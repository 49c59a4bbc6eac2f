"""``lfr deployment``, ``lfr alerts`` and ``lfr retention`` as a user runs them: real processes on a
real store (SQLite and PostgreSQL), real faces.

Every command acts as ``local:<os user>``; the one step that needs a second person (authorising) is
taken through the library, as the service will take it for a second logged-in officer."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from deploying import governed
from openlfr.analysis import FaceAnalyzer
from openlfr.auth.principal import local_principal
from openlfr.cli.main import app
from openlfr.config import StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import Stage
from openlfr.review.alerts import Alerts
from openlfr.store.audit import verify
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry
from reviewing import make_alert


def lfr(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openlfr", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.mark.parametrize(
    "command",
    [
        ["deployment", sub]
        for sub in (
            "create",
            "show",
            "list",
            "watchlist",
            "threshold",
            "authorise",
            "start",
            "end",
            "close",
            "report",
            "run",
        )
    ]
    + [["alerts", sub] for sub in ("list", "show", "adjudicate", "hold", "release")]
    + [["retention", "purge"]],
)
def test_every_store_command_has_help_with_an_example(command: list[str]) -> None:
    out = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})  # in-process: 17 starts saved
    assert out.exit_code == 0, out.output
    assert "Example" in out.output


def store_env(config: StoreConfig) -> dict[str, str]:
    assert config.key is not None
    env = {"LFR_STORE__DATA_DIR": str(config.data_dir), "LFR_STORE__KEY": config.key.get_secret_value()}
    if config.url:
        env["LFR_STORE__URL"] = config.url
    return env


def test_a_deployment_from_the_command_line(
    store_config: StoreConfig, tmp_path: Path, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    env = store_env(store_config)
    me = local_principal().actor

    def run(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        out = lfr(*args, env={**env, "LFR_ACTOR": "someone.else"})  # no longer read: the actor is the OS user
        assert (out.returncode == 0) == ok, f"{args}: {out.stdout}{out.stderr}"
        return out

    def authorise_as_second_officer(dep_id: str) -> None:
        store = Store.open(store_config)
        try:
            Deployments(store).authorise(dep_id, "supt.authoriser")
        finally:
            store.close()

    wl = governed(demo_watchlist)
    complete = wl.save(tmp_path / "complete.lfrw")
    subjects = [s.model_copy(update={"reason": ""}) if s.subject_id == "biden" else s for s in wl.manifest.subjects]
    incomplete = Watchlist(wl.manifest.model_copy(update={"subjects": subjects}), wl.vectors, wl.faces)
    incomplete.save(tmp_path / "incomplete.lfrw")

    created = run(
        *("deployment", "create", "--name", "Stratford (test)", "--location", "Stratford Centre"),
        *("--lat", "51.5416", "--lon", "-0.0034", "--purpose", "locate people wanted on warrant"),
        *("--legal-basis", "common law powers; force LFR policy v3", "--camera", "cam-1=clip.mp4"),
        *("--start", "2026-01-01T09:00+00:00", "--end", "2099-01-01T17:00+00:00", "--json"),
    )
    dep_id = json.loads(created.stdout)["id"]
    run("deployment", "watchlist", dep_id, tmp_path / "incomplete.lfrw")
    why = "accepted for a two-person test watchlist"
    run("deployment", "threshold", dep_id, "--value", "0.6", "--justification", why)
    refused = run("deployment", "authorise", dep_id, ok=False)
    assert (
        refused.stderr.strip()
        == f"error: deployment {dep_id} was created by {me}; it must be authorised by another officer"
    )
    authorise_as_second_officer(dep_id)
    not_ready = run("deployment", "start", dep_id, ok=False)
    assert not_ready.stderr.strip().splitlines() == [
        f"error: deployment {dep_id} cannot go live: watchlist entry 'biden' has no reason"
    ]
    assert "not ready: watchlist entry 'biden' has no reason" in run("deployment", "show", dep_id).stdout

    run("deployment", "watchlist", dep_id, complete)  # withdraws the authorisation
    assert json.loads(run("deployment", "show", dep_id, "--json").stdout)["status"] == "draft"
    authorise_as_second_officer(dep_id)
    assert "live since" in run("deployment", "start", dep_id).stdout

    alert = make_alert(analyzer, demo, demo_watchlist)  # as the live run stores it
    store = Store.open(store_config)
    try:
        Alerts(store).store_alert(dep_id, alert)
    finally:
        store.close()
    listed = json.loads(run("alerts", "list", "--deployment", dep_id, "--status", "unadjudicated", "--json").stdout)
    assert [a["id"] for a in listed] == [alert.alert_id]
    first = run("alerts", "adjudicate", alert.alert_id, "operator", "no_match").stdout
    event = int(first.split("event ")[1].split(",")[0])
    run("alerts", "adjudicate", alert.alert_id, "engagement", "not_engaged", ok=False)
    run(
        "alerts", "adjudicate", alert.alert_id, "operator", "match", "--supersedes", str(event), "--note", "second look"
    )
    refused = run("alerts", "adjudicate", alert.alert_id, "engagement", "engaged_confirmed_true", ok=False)
    assert "must be another officer's (separation of duties)" in refused.stderr
    store = Store.open(store_config)  # the engagement officer: a second person, as the service would have it
    try:
        Alerts(store).adjudicate(alert.alert_id, Stage.ENGAGEMENT, "engaged_confirmed_true", "pc.engager")
    finally:
        store.close()
    run("alerts", "adjudicate", alert.alert_id, "outcome", "arrest")
    run("alerts", "hold", alert.alert_id, "--case", "CASE-9")
    run("alerts", "release", alert.alert_id, "--case", "CASE-9")
    shown = run("alerts", "show", alert.alert_id, "--save-images", tmp_path / "seen", "--json")
    assert json.loads(shown.stdout)["summary"]["state"]["outcome"] == "arrest"
    assert (tmp_path / "seen" / f"{alert.alert_id}_probe.jpg").read_bytes() == alert.probe_jpeg

    assert "destroyed" in run("deployment", "end", dep_id).stdout
    run("deployment", "report", dep_id, "--format", "csv", "-o", tmp_path / "records.csv")
    (row,) = csv.DictReader((tmp_path / "records.csv").open())
    assert (row["alerts"], row["true_alerts"], row["false_alerts"], row["arrests"]) == ("1", "1", "0", "1")
    run("deployment", "close", dep_id)
    purged = json.loads(run("retention", "purge", "--json").stdout)
    assert [c["deleted"] for c in purged["counts"]] == [0, 0]  # the alert is minutes old
    assert run("audit", "verify").returncode == 0
    store = Store.open(store_config)
    try:
        with store.session() as s:
            assert verify(s).ok
            actors = {
                (e.action, e.actor) for e in s.scalars(select(AuditEntry).where(AuditEntry.deployment_id == dep_id))
            }
    finally:
        store.close()
    assert {actor for _, actor in actors} == {me, "supt.authoriser", "pc.engager", "system"}  # system: the alert
    assert ("deployment.authorised", "supt.authoriser") in actors
    assert ("deployment.created", me) in actors and ("alert.adjudicated", me) in actors
