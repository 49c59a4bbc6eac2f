"""``lfr serve``: the HTTP service (API, alert streams, live deployments) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from openlfr.cli.common import err_console, open_store, settings
from openlfr.config import ClusterConfig
from openlfr.errors import ClusterError, ConfigError

EPILOG = (
    "Examples:\n\n"
    "  lfr users add alice --role admin            # the first admin (there is no default user)\n\n"
    "  lfr serve --host 0.0.0.0 --port 8443         # behind a TLS proxy; or \\[api] host/port in the config\n\n"
    '  curl -c jar -H \'Content-Type: application/json\' -d \'{"username":"alice","password":"..."}\' '
    "http://127.0.0.1:8080/api/v1/auth/login\n\n"
    "  lfr serve --cluster ray://head.example:10001  # each live camera an actor on a Ray node with capacity\n\n"
    "The API is described at /openapi.json; /healthz, /readyz and /metrics are open."
)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: \\[api] host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: \\[api] port, 8080).")] = None,
    resume: Annotated[
        bool, typer.Option(help="Start the cameras of the deployments that are live (the gap is audited).")
    ] = True,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Run the live cameras on this Ray cluster: ray://HOST:PORT, HOST:PORT or auto (default: "
            "\\[cluster] address; none: in this process). The store must be PostgreSQL."
        ),
    ] = None,
) -> None:
    """Serve the API, the live alert streams and the live deployments' cameras, over the store the CLI
    uses (store.data_dir or store.url, its key from LFR_STORE__KEY or store.key_file). Stop with Ctrl-C:
    the cameras stop, and start again with the next 'lfr serve'."""
    import uvicorn

    from openlfr.api.app import create_app
    from openlfr.cluster.app import connect

    cfg = settings()
    if cluster is not None:
        cfg = cfg.model_copy(update={"cluster": with_address(cfg.cluster, cluster)})
    store = open_store()
    if cfg.cluster.address is not None:
        if store.is_sqlite:
            raise ClusterError(
                f"cluster mode keeps its alerts in PostgreSQL; the store is SQLite ({store.description}): set "
                "store.url to a postgresql+psycopg:// URL"
            )
        connect(cfg.cluster.address)
        err_console.print(f"cameras run on the Ray cluster at {cfg.cluster.address}", highlight=False)
    app = create_app(cfg, store, resume=resume)
    where = f"http://{host or cfg.api.host}:{port or cfg.api.port}"
    err_console.print(
        f"openlfr serving {store.description} at {where} (API described at {where}/openapi.json)", highlight=False
    )
    uvicorn.run(app, host=host or cfg.api.host, port=port or cfg.api.port, log_level="info", proxy_headers=True)


def with_address(config: ClusterConfig, address: str) -> ClusterConfig:
    """``config`` with the cluster's ``address``, checked as the config file's would be."""
    try:
        return ClusterConfig.model_validate({**config.model_dump(), "address": address})
    except ValueError as exc:
        raise ConfigError(
            f"--cluster {address!r}: give ray://HOST:PORT, HOST:PORT or auto", problems=[str(exc)]
        ) from exc
