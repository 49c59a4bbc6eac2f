"""``lfr store keygen|info``: the encryption key and where the store is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli.common import console, open_store, settings
from openlfr.errors import StoreKeyError
from openlfr.store.crypto import generate_key
from openlfr.store.db import describe_url, schema_version, store_url
from openlfr.text import term

app = typer.Typer(help="The store: its encryption key, location and schema.", no_args_is_help=True)


@app.command(
    "keygen",
    epilog="Example:\n\n  lfr store keygen -o /etc/openlfr/store.key\n\n"
    "  export LFR_STORE__KEY_FILE=/etc/openlfr/store.key",
)
def keygen_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the key to this new file (mode 600).")
    ] = None,
) -> None:
    """Make a new random encryption key for a new store. Keep it apart from the data and backed up: without
    it, the faces and templates in the store cannot be read."""
    key = generate_key()
    if output is None:
        typer.echo(key)
        return
    import os

    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise StoreKeyError(f"{output} exists; a key file is never overwritten") from exc
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    console.print(f"wrote a new key to {term(output)}; set store.key_file (or LFR_STORE__KEY_FILE) to it")


@app.command("info", epilog="Example:\n\n  lfr store info")
def info_command() -> None:
    """Open the store (creating or migrating it) and say where it is and which schema and key it has."""
    config = settings().store
    store = open_store()
    try:
        console.print(f"store: {term(describe_url(store_url(config)))}")
        console.print(f"schema: {schema_version(store)}")
        console.print(f"key id: {store.cipher.key_id}")
    finally:
        store.close()
