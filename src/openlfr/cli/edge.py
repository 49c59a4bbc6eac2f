"""``lfr edge``: run on a device: detect, track, pick best shots and embed here; the service matches."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.logging import RichHandler

from openlfr.cli.common import err_console, settings
from openlfr.config import CameraConfig
from openlfr.edge.run import EdgeOptions, run_edge

EPILOG = (
    "Examples:\n\n"
    "  lfr edge --server https://lfr.example --token lfr_... --deployment 20261202-a1b2c3 --camera /dev/video0\n\n"
    "  lfr edge --server https://lfr.example --token lfr_... --deployment ID --camera rtsp://cam/stream "
    "--camera-id van-north --lat 51.54 --lon -0.003\n\n"
    "The token is a device token bound to the deployment (lfr tokens create NAME --role device --deployment ID). "
    "Only templates leave the device; a face crop is sent only when the service answers that it is a hit."
)


def edge_command(
    server: Annotated[str, typer.Option(help="The service's URL (put TLS in front of it for real use).")],
    token: Annotated[
        str,
        typer.Option(
            envvar="LFR_EDGE_TOKEN",
            help="A device token bound to the deployment (better in LFR_EDGE_TOKEN: others can read a command line).",
        ),
    ],
    deployment: Annotated[str, typer.Option(help="The live deployment to send to.")],
    camera: Annotated[str, typer.Option(help="Video file, rtsp:// or http(s):// stream, /dev/videoN, folder.")],
    camera_id: Annotated[str, typer.Option(help="This camera's name in the deployment's alerts.")] = "cam1",
    lat: Annotated[float | None, typer.Option(min=-90, max=90, help="The device's latitude.")] = None,
    lon: Annotated[float | None, typer.Option(min=-180, max=180, help="The device's longitude.")] = None,
    fps: Annotated[float | None, typer.Option(min=0.1, max=60, help="Frames analysed per second.")] = None,
    ttl: Annotated[
        float, typer.Option(min=0.5, help="Seconds a template may wait to be sent before it is dropped.")
    ] = 10.0,
    queue: Annotated[int, typer.Option(min=1, help="Templates held at most while the server is unreachable.")] = 256,
    connect_wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for the server at the start before giving up.")
    ] = 15.0,
    fast: Annotated[bool, typer.Option("--fast", help="Files: as fast as possible, not at their native rate.")] = False,
) -> None:
    """Run a camera on this device for a deployment of the service: only templates are sent; a face crop
    only for a hit; a template that cannot be sent in time is dropped, not kept."""
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=err_console, show_path=False)]
    )
    cfg = settings()
    cam = CameraConfig(id=camera_id, source=camera, realtime=not fast)
    if fps is not None:
        cam = cam.model_copy(update={"analysis_fps": fps})
    options = EdgeOptions(
        server=server,
        token=token,
        deployment_id=deployment,
        cameras=(cam,),
        latitude=lat,
        longitude=lon,
        queue_size=queue,
        ttl_s=ttl,
        connect_wait_s=connect_wait,
        status_interval_s=cfg.live.log_interval_s,
    )
    stop = threading.Event()

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        report = run_edge(cfg, options, stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    for traffic in report.cameras:
        err_console.print(traffic.describe(), highlight=False)
