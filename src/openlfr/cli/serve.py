"""``lfr serve``: the HTTP service (API, alert streams, live deployments) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from openlfr.cli.common import err_console, open_store, settings

EPILOG = (
    "Examples:\n\n"
    "  lfr users add alice --role admin            # the first admin (there is no default user)\n\n"
    "  lfr serve --host 0.0.0.0 --port 8443         # behind a TLS proxy; or \\[api] host/port in the config\n\n"
    '  curl -c jar -H \'Content-Type: application/json\' -d \'{"username":"alice","password":"..."}\' '
    "http://127.0.0.1:8080/api/v1/auth/login\n\n"
    "The API is described at /openapi.json; /healthz, /readyz and /metrics are open."
)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: \\[api] host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: \\[api] port, 8080).")] = None,
    resume: Annotated[
        bool, typer.Option(help="Start the cameras of the deployments that are live (the gap is audited).")
    ] = True,
) -> None:
    """Serve the API, the live alert streams and the live deployments' cameras, over the store the CLI
    uses (store.data_dir or store.url, its key from LFR_STORE__KEY or store.key_file). Stop with Ctrl-C:
    the cameras stop, and start again with the next 'lfr serve'."""
    import uvicorn

    from openlfr.api.app import create_app

    cfg = settings()
    store = open_store()
    app = create_app(cfg, store, resume=resume)
    where = f"http://{host or cfg.api.host}:{port or cfg.api.port}"
    err_console.print(
        f"openlfr serving {store.description} at {where} (API described at {where}/openapi.json)", highlight=False
    )
    uvicorn.run(app, host=host or cfg.api.host, port=port or cfg.api.port, log_level="info", proxy_headers=True)
