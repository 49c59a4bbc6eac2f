"""``python -m openlfr`` is the ``lfr`` command."""

from openlfr.cli.main import run

if __name__ == "__main__":  # guarded: the embedding worker process is spawned and re-imports __main__
    run()
