"""``lfr watch``: live recognition on camera streams, with a status line and alerts as they happen."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table

from openlfr.alert.outbox import Outbox, Sealer
from openlfr.cli.common import TrustUnsigned, err_console, settings, stop_on_signals, with_trust
from openlfr.config import (
    CameraConfig,
    FileSinkConfig,
    Settings,
    SinkConfig,
    StdoutSinkConfig,
    WebhookSinkConfig,
)
from openlfr.errors import ConfigError
from openlfr.live.app import LiveApp
from openlfr.metrics import describe
from openlfr.text import term

EPILOG = (
    "Examples:\n\n"
    "  lfr watch rtsp://cam1.local/stream -w event.lfrw\n\n"
    "  lfr watch clip.mp4 --fast -w event.lfrw --alerts-file alerts.jsonl\n\n"
    "  lfr --config cameras.yaml watch -w event.lfrw   (\\[\\[cameras]] id, source, analysis_fps in the config)\n\n"
    "  lfr --config fused.toml watch clip.mp4 -w event.lfrw   (score fusion: a watchlist enrolled and calibrated "
    "with the same second_embedder as fused.toml)\n\n"
    "Alerts are JSON lines on stdout (images left out; --alerts-file keeps them); the status goes to stderr."
)


def watch_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Video files, rtsp:// or http(s):// streams, /dev/videoN webcams, or image folders."),
    ] = None,
    watchlist: Annotated[Path, typer.Option("--watchlist", "-w", help="Watchlist file made by 'lfr enrol'.")] = Path(
        "watchlist.lfrw"
    ),
    fps: Annotated[float | None, typer.Option(min=0.1, max=60, help="Frames analysed per second, per camera.")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="Files: as fast as possible, not at their native rate.")] = False,
    alerts_file: Annotated[Path | None, typer.Option(help="Also append alerts (with images) to this file.")] = None,
    webhook: Annotated[
        str | None, typer.Option(help="Also POST alerts to this URL (LFR_WEBHOOK_SECRET signs).")
    ] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live status line.")] = False,
    allow_uncalibrated: Annotated[
        bool,
        typer.Option(
            "--allow-uncalibrated",
            help="Run although the threshold was not calibrated for this embedder and normalisation (refused "
            "otherwise); logged as an error and recorded in every alert and the metrics.",
        ),
    ] = False,
    trust_unsigned: TrustUnsigned = False,
) -> None:
    """Watch camera streams for the people on a watchlist and raise an alert for each one seen.

    Every face is tracked through its pass; only its best shots are embedded; an alert is raised once
    per person and pass, within a second of the shot. Faces that raise no alert are dropped from
    memory when their track ends."""
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=err_console, show_path=False)]
    )
    base = settings()
    cfg = with_trust(_with_overrides(base, sources, fps, fast, alerts_file, webhook, metrics_port), trust_unsigned)
    if allow_uncalibrated:
        cfg = cfg.model_copy(update={"live": cfg.live.model_copy(update={"allow_uncalibrated": True})})
    app = LiveApp(cfg, watchlist, outbox=Outbox(cfg.live.outbox, _sealer(cfg)))
    with stop_on_signals() as stop:
        app.start()
        try:
            if quiet:
                while not stop.is_set() and not app.wait(0.5):
                    pass
            else:
                with Live(status_table(app), console=err_console, refresh_per_second=2, transient=False) as live:
                    while not stop.is_set() and not app.wait(0.5):
                        live.update(status_table(app))
                    live.update(status_table(app))
        finally:
            app.stop()
    report = app.delivery(final=True)
    assert report is not None  # the app's own FanOut follows every alert
    interrupted = " (interrupted)" if stop.is_set() else ""
    if not report.undelivered:
        err_console.print(f"stopped: {report.describe()}{interrupted}")
        return
    err_console.print(f"[bold red]stopped: {term(report.describe())}{interrupted}[/]")
    raise typer.Exit(EXIT_UNDELIVERED)


EXIT_UNDELIVERED = 3
"""``lfr watch`` and ``lfr deployment run`` exit with this when any alert went undelivered."""


def _sealer(cfg: Settings) -> Sealer | None:
    """The store's key encrypts the outbox (face crops included); without one the outbox keeps no crops."""
    if cfg.store.key is None and cfg.store.key_file is None:
        return None
    from openlfr.store.crypto import Cipher, load_key

    return Cipher(load_key(cfg.store))


def _with_overrides(
    base: Settings,
    sources: list[str] | None,
    fps: float | None,
    fast: bool,
    alerts_file: Path | None,
    webhook: str | None,
    metrics_port: int | None,
) -> Settings:
    cameras = list(base.cameras)
    for i, source in enumerate(sources or []):
        cameras.append(CameraConfig(id=f"cam{len(base.cameras) + i + 1}", source=source))
    if not cameras:
        raise ConfigError("no camera: give a source (lfr watch clip.mp4 -w W) or [[cameras]] in --config")
    cameras = [
        c.model_copy(update={"analysis_fps": fps or c.analysis_fps, "realtime": c.realtime and not fast})
        for c in cameras
    ]
    live = base.live
    extra: list[SinkConfig] = []
    if alerts_file is not None:
        extra.append(FileSinkConfig(path=alerts_file))
    if webhook is not None:
        extra.append(WebhookSinkConfig(url=webhook, secret=os.environ.get("LFR_WEBHOOK_SECRET")))
    sinks = list(live.sinks) if live.sinks else [StdoutSinkConfig()]
    update = {"sinks": sinks + extra}
    if metrics_port is not None:
        update["metrics_port"] = metrics_port  # type: ignore[assignment]
    return base.model_copy(update={"cameras": cameras, "live": live.model_copy(update=update)})


def status_table(app: LiveApp) -> Table:
    table = Table.grid(padding=(0, 1))
    for snap in app.snapshots():
        table.add_row(term(describe(snap)))
    report = app.delivery()
    if report is not None:
        line = term(f"alerts: {report.describe()}")
        table.add_row(f"[bold red]{line}[/]" if report.undelivered else line)
    recent = [a for p in app.pipelines for a in list(p.alerts)[-3:]]
    for a in recent:
        table.add_row(
            f"  ALERT {term(a.camera_id)} {term(a.display_name)} ({term(a.category)}) "
            f"score {a.score:.4f} at {a.frame_pts:.1f}s"
        )
    return table
