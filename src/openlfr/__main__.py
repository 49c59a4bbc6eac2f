"""``python -m openlfr`` is the ``lfr`` command."""

from openlfr.cli.main import run

run()
