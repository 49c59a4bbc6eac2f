"""``lfr eval``: measure accuracy and equitability the way NIST FRTE and NPL do, on your own data.

Each sub-command's options live in its own module (``cli/eval_<name>.py``), registered below, and call one
function of ``openlfr.eval`` (``eval/<name>_report.py``) that measures and builds the report; the options they
share are in ``cli/eval_options.py`` and ``cli/eval_common.py``.
"""

from __future__ import annotations

import typer

from openlfr.cli import (
    eval_common,
    eval_demographics,
    eval_identify,
    eval_scenes,
    eval_templates,
    eval_threshold,
    eval_verify,
)

app = typer.Typer(
    help="Evaluate accuracy and equitability: verify (LFW protocol), identify (open-set 1:N), demographics, "
    "threshold (the advisor), scenes, live and templates. Results go to a JSON file and an HTML report.",
    no_args_is_help=True,
)

# -- sub-commands (each module adds one line here) --------------------------------------------------
app.command("verify", epilog=eval_verify.EPILOG)(eval_verify.verify_command)
app.command("identify", epilog=eval_common.EPILOG)(eval_identify.identify_command)
app.command("demographics", epilog=eval_common.EPILOG)(eval_demographics.demographics_command)
app.command("threshold", epilog=eval_common.EPILOG)(eval_threshold.threshold_command)
app.command("scenes", epilog=eval_scenes.SCENES_EPILOG)(eval_scenes.scenes_command)
app.command("live", epilog=eval_scenes.LIVE_EPILOG)(eval_scenes.live_command)
app.command("templates", epilog=eval_templates.EPILOG)(eval_templates.templates_command)
