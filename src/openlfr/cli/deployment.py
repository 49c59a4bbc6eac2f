"""``lfr deployment create|show|list|watchlist|threshold|authorise|start|end|close|report``: the
deployment lifecycle, thin over ``openlfr.deploy``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.cli import deployment_run
from openlfr.cli.common import TrustUnsigned, console, file_signing, settings
from openlfr.cli.stored import JsonOption, actor, opened, parse_time, print_json, when
from openlfr.config import CameraConfig
from openlfr.deploy.lifecycle import MIN_JUSTIFICATION, Deployments
from openlfr.deploy.records import ExportFormat, export, records
from openlfr.deploy.requests import DeploymentCreate, ThresholdRequest
from openlfr.deploy.views import DeploymentView
from openlfr.errors import ConfigError
from openlfr.match.watchlist import Watchlist
from openlfr.status import DeploymentStatus
from openlfr.text import term

app = typer.Typer(
    help="Deployments: create, import a watchlist, set the threshold, authorise, start, end, close, report.\n\n"
    "A deployment goes draft -> authorised -> live -> ended -> closed; every step is audited, with\n"
    "local:<your OS user> as its actor.",
    no_args_is_help=True,
)
DeploymentArg = Annotated[str, typer.Argument(help="The deployment's id ('lfr deployment list' shows them).")]
ID = "20260601-a1b2c3"


def _ex(*lines: str) -> str:
    return "Example:\n\n" + "\n\n".join(f"  {line}" for line in lines)


@app.command(
    "create",
    epilog=_ex(
        "lfr deployment create --name 'Stratford, Sat' --location 'Stratford Centre' --lat 51.5416 --lon -0.0034 "
        "--purpose 'locate people wanted on warrant' --legal-basis 'common law powers; force LFR policy v3' "
        "--start 2026-06-01T09:00+01:00 --end 2026-06-01T17:00+01:00 --camera cam-1=rtsp://10.0.0.5/stream"
    ),
)
def create_command(
    name: Annotated[str, typer.Option(help="A short name for the deployment.")],
    location: Annotated[str, typer.Option(help="Where: the place's name, as it will be published.")],
    purpose: Annotated[str, typer.Option(help="Why: the policing purpose.")],
    legal_basis: Annotated[str, typer.Option(help="The powers and policy it relies on.")],
    start: Annotated[str, typer.Option(help="Planned start, ISO 8601 (local time if no offset).")],
    end: Annotated[str, typer.Option(help="Planned end, ISO 8601.")],
    camera: Annotated[
        list[str] | None,
        typer.Option(
            help="ID=SOURCE (file, rtsp://, http(s)://, /dev/videoN); repeat for more. Default: \\[\\[cameras]]."
        ),
    ] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS84).")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS84).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a draft deployment: where, why, when, with which cameras."""
    cameras = [_camera(c) for c in camera] if camera else list(settings().cameras)
    request = DeploymentCreate.build(
        name=name,
        location_name=location,
        purpose=purpose,
        legal_basis=legal_basis,
        planned_start=parse_time(start, "--start"),
        planned_end=parse_time(end, "--end"),
        cameras=cameras,
        latitude=lat,
        longitude=lon,
    )
    with opened() as store:
        dep = Deployments(store).create_from(request, actor())
    if as_json:
        print_json(dep)
        return
    console.print(
        f"created deployment [bold]{term(dep.id)}[/] (draft). Next: lfr deployment watchlist {term(dep.id)} FILE"
    )


def _camera(spec: str) -> CameraConfig:
    camera_id, sep, source = spec.partition("=")
    if not sep or not camera_id or not source:
        raise ConfigError(f"--camera takes ID=SOURCE, e.g. cam-1=rtsp://10.0.0.5/stream; got '{spec}'")
    try:
        return CameraConfig(id=camera_id, source=source)
    except ValueError as exc:
        raise ConfigError(f"--camera {spec}: {exc}") from exc


@app.command("show", epilog=_ex(f"lfr deployment show {ID}", f"lfr deployment show {ID} --json"))
def show_command(deployment_id: DeploymentArg, as_json: JsonOption = False) -> None:
    """Show a deployment: its facts, state, threshold, watchlist entries and what keeps it from going live."""
    with opened() as store:
        service = Deployments(store)
        dep = service.get(deployment_id)
        before_live = dep.status in (DeploymentStatus.DRAFT, DeploymentStatus.AUTHORISED)
        problems = service.problems(deployment_id) if before_live else []
    if as_json:
        print_json(dep)
        return
    _print(dep)
    for p in problems:
        console.print(f"[yellow]not ready[/]: {term(p)}", highlight=False)


def _print(dep: DeploymentView) -> None:
    where = term(dep.location_name) + (
        f" ({dep.latitude:.5f}, {dep.longitude:.5f})" if dep.latitude is not None else ""
    )
    threshold = "-" if dep.threshold is None else f"{dep.threshold:.4f} ({dep.threshold_source})"
    lines = [
        f"[bold]{term(dep.id)}[/] {term(dep.name)}: [bold]{dep.status.value}[/]",
        f"location     {where}",
        f"purpose      {term(dep.purpose)}",
        f"legal basis  {term(dep.legal_basis)}",
        f"planned      {when(dep.planned_start)} to {when(dep.planned_end)}",
        f"cameras      {', '.join(term(f'{c.id}={c.source}') for c in dep.cameras)}",
        f"threshold    {threshold}" + (f": {term(dep.threshold_justification)}" if dep.threshold_justification else ""),
        f"created      {when(dep.created_at)} by {term(dep.created_by)}",
        f"authorised   {when(dep.authorised_at)} by {term(dep.authorised_by or '-')}",
        f"live         {when(dep.started_at)} to {when(dep.ended_at)}; closed {when(dep.closed_at)}",
    ]
    if dep.watchlist_destroyed_at is not None:
        lines.append(f"watchlist    destroyed {when(dep.watchlist_destroyed_at)} (entries and reasons kept)")
    console.print("\n".join(lines), highlight=False)
    if dep.entries:
        table = Table(title=f"watchlist {term(dep.watchlist_name)} ({len(dep.entries)} entries)")
        for col in ("subject", "name", "category", "reason", "image source", "expires", "under 18", "templates"):
            table.add_column(col, overflow="fold")
        for e in dep.entries:
            table.add_row(
                term(e.subject_id),
                term(e.display_name or "-"),
                term(e.category),
                term(e.reason or "-"),
                term(e.image_source or "-"),
                e.expires.isoformat() if e.expires else "-",
                ("yes: " + term(e.under_18_justification or "NO JUSTIFICATION")) if e.under_18 else "no",
                str(e.templates),
            )
        console.print(table)


@app.command("list", epilog=_ex("lfr deployment list", "lfr deployment list --status live --json"))
def list_command(
    status: Annotated[DeploymentStatus | None, typer.Option(help="Only deployments in this state.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List deployments by planned start."""
    with opened() as store:
        deps = Deployments(store).list_deployments(status)
    if as_json:
        print_json(deps)
        return
    table = Table()
    for col in ("id", "name", "status", "location", "planned start", "entries", "threshold"):
        table.add_column(col, overflow="fold")
    for d in deps:
        threshold = "-" if d.threshold is None else f"{d.threshold:.3f}"
        entries = str(len(d.entries))
        table.add_row(
            term(d.id), term(d.name), d.status.value, term(d.location_name), when(d.planned_start), entries, threshold
        )
    console.print(table)


@app.command(
    "watchlist",
    epilog=_ex(
        f"lfr deployment watchlist {ID} event.lfrw",
        f"lfr deployment watchlist {ID} event.lfrw --under-18 'sub-042=missing child at risk, CSE referral 77'",
    ),
)
def watchlist_command(
    deployment_id: DeploymentArg,
    watchlist: Annotated[Path, typer.Argument(help="A watchlist file made by 'lfr enrol'.")],
    under_18: Annotated[
        list[str] | None,
        typer.Option(help="SUBJECT=JUSTIFICATION for a person under 18 (repeat); without one it cannot go live."),
    ] = None,
    trust_unsigned: TrustUnsigned = False,
) -> None:
    """Import a watchlist as this deployment's own (templates and faces encrypted). Only before it is
    live; a change to an authorised deployment needs authorising again."""
    children = dict(_pair(u) for u in under_18 or [])
    wl = Watchlist.load(watchlist, signing=file_signing(trust_unsigned))
    with opened() as store:
        dep = Deployments(store).set_watchlist(deployment_id, wl, actor(), under_18=children)
    console.print(f"{term(dep.id)}: watchlist '{term(wl.name)}', {len(dep.entries)} entries; status {dep.status.value}")


def _pair(spec: str) -> tuple[str, str]:
    subject, _, why = spec.partition("=")
    return subject.strip(), why.strip()


@app.command(
    "threshold",
    epilog=_ex(
        f"lfr deployment threshold {ID} --calibrated",
        f"lfr deployment threshold {ID} --value 0.62 --justification 'calibration cohort too small for this "
        "watchlist; 0.62 is the force-wide value from the March evaluation'",
    ),
)
def threshold_command(
    deployment_id: DeploymentArg,
    calibrated: Annotated[bool, typer.Option(help="Use the threshold the watchlist was calibrated to.")] = False,
    value: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="A threshold set by hand.")] = None,
    justification: Annotated[
        str, typer.Option(help=f"Why, for a threshold set by hand (at least {MIN_JUSTIFICATION} characters).")
    ] = "",
) -> None:
    """Set the deployment's threshold: the watchlist's calibrated one, or by hand with a justification."""
    if calibrated == (value is not None):
        raise ConfigError("give either --calibrated or --value (with --justification)")
    with opened() as store:
        request = ThresholdRequest.build(value=value, justification=justification)
        dep = Deployments(store).set_threshold_from(deployment_id, request, actor())
    console.print(f"{term(dep.id)}: threshold {dep.threshold:.4f} ({dep.threshold_source}); status {dep.status.value}")


@app.command(
    "authorise",
    epilog=_ex(f"lfr deployment authorise {ID}   # run by another OS account than the one that created it")
    + "\n\nThe authorising officer is normally a second person logged in to the service (lfr serve).",
)
def authorise_command(deployment_id: DeploymentArg) -> None:
    """Authorise a draft deployment, as the authorising officer: never the one who created it. The command
    acts as local:<your OS user>, so the OS account that created a deployment cannot authorise it."""
    with opened() as store:
        dep = Deployments(store).authorise(deployment_id, actor())
    console.print(f"{term(dep.id)}: authorised by {term(dep.authorised_by)}")


@app.command("start", epilog=_ex(f"lfr deployment start {ID}", f"lfr deployment run {ID}   # then run its cameras"))
def start_command(deployment_id: DeploymentArg) -> None:
    """Put an authorised deployment live. Refused, naming every gap, unless it has a threshold, cameras
    and a watchlist whose every entry has a category, reason, image source and unexpired expiry (and a
    child's entry a justification)."""
    with opened() as store:
        dep = Deployments(store).start(deployment_id, actor())
    console.print(
        f"{term(dep.id)}: live since {when(dep.started_at)}. Run its cameras: lfr deployment run {term(dep.id)}"
    )


@app.command("end", epilog=_ex(f"lfr deployment end {ID}"))
def end_command(deployment_id: DeploymentArg) -> None:
    """End a deployment: its watchlist's templates and faces are destroyed (entry ids and reasons stay)."""
    with opened() as store:
        dep = Deployments(store).end(deployment_id, actor())
    console.print(f"{term(dep.id)}: ended {when(dep.ended_at)}; watchlist templates and faces destroyed")


@app.command("close", epilog=_ex(f"lfr deployment close {ID}"))
def close_command(deployment_id: DeploymentArg) -> None:
    """Close an ended deployment: its record is final."""
    with opened() as store:
        dep = Deployments(store).close(deployment_id, actor())
    console.print(f"{term(dep.id)}: closed {when(dep.closed_at)}")


@app.command(
    "report",
    epilog=_ex(
        "lfr deployment report",
        "lfr deployment report --format csv -o deployments.csv",
        f"lfr deployment report {ID} --format json",
    ),
)
def report_command(
    deployment_ids: Annotated[list[str] | None, typer.Argument(help="Deployments (default: all).")] = None,
    fmt: Annotated[ExportFormat | None, typer.Option("--format", help="Export as CSV or JSON (audited).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the export here (else stdout).")] = None,
) -> None:
    """The deployment records: faces seen, alerts, true and false alerts, engagements, arrests, the false
    alert rate (false alerts / faces seen), watchlist size, threshold and times."""
    with opened() as store:
        rows = records(store, deployment_ids)
        text = export(store, rows, fmt, actor()) if fmt is not None else None
    if text is not None:
        if output is not None:
            output.write_text(text, encoding="utf-8")
            console.print(f"wrote {len(rows)} deployment record(s) to {term(output)}")
        else:
            typer.echo(text, nl=False)
        return
    table = Table()
    cols = ("id", "date", "location", "watchlist", "faces seen", "alerts", "true", "false", "engaged", "arrests")
    for col in (*cols, "false alert rate"):
        table.add_column(col, overflow="fold")
    for r in rows:
        rate = "-" if r.false_alert_rate is None else f"{r.false_alert_rate:.5f}"
        table.add_row(
            term(r.deployment_id),
            r.date,
            term(r.location),
            str(r.watchlist_size),
            str(r.faces_seen),
            str(r.alerts),
            str(r.true_alerts),
            str(r.false_alerts),
            str(r.engagements),
            str(r.arrests),
            rate,
        )
    console.print(table)


app.command("run", epilog=deployment_run.EPILOG)(deployment_run.run_command)
