"""``lfr watchlist show|check``: read a watchlist, and check it is fit to deploy."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from numpy.typing import NDArray
from rich.table import Table

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import TrustUnsigned, console, err_console, file_signing, progress, settings
from openlfr.embed.base import embedders
from openlfr.errors import OpenLFRError
from openlfr.match import second as second_set
from openlfr.match.calibrate import apply, calibrate, normalise
from openlfr.match.cohort import WARN_FALSE_ALERTS, Cohort
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import Watchlist
from openlfr.text import term
from openlfr.types import Category

app = typer.Typer(help="Inspect and check watchlist files.", no_args_is_help=True)

WatchlistArg = Annotated[Path, typer.Argument(help="A watchlist file made by 'lfr enrol'.")]


@app.command(
    "calibrate",
    epilog="Examples:\n\n  lfr watchlist calibrate event.lfrw --cohort fairface.lfrc --fpir 0.001\n\n"
    "  lfr watchlist calibrate event.lfrw --cohort fairface.lfrc --normalisation none   (distance scores, as v1)\n\n"
    "  lfr --config fused.toml watchlist calibrate event.lfrw --cohort both.lfrc   (score fusion: watchlist and "
    "cohort made with the same second_embedder setting; thresholds set on the fused scores)",
)
def calibrate_command(
    watchlist: WatchlistArg,
    cohort: Annotated[Path, typer.Option(help="Cohort file made by 'lfr cohort build'.")],
    fpir: Annotated[float, typer.Option(min=1e-6, max=0.5, help="Target share of innocent faces that alert.")] = 1e-3,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: in place).")] = None,
    normalisation: Annotated[
        str,
        typer.Option(
            help="config: normalise scores against the cohort as \\[match.normalisation] says (default zt, "
            "EVALUATION.md section 6), stored in the watchlist; none: similarity from Euclidean distance."
        ),
    ] = "config",
    mated: Annotated[
        Path | None,
        typer.Option(
            help="Other photos of people on the watchlist (an enrolment manifest CSV: subject_id, image, ...): "
            "the share found at the threshold is stored as the expected TPIR."
        ),
    ] = None,
    allow_outside: Annotated[
        bool, typer.Option("--allow-outside", help="--mated: accept image paths outside the manifest's folder.")
    ] = False,
    trust_unsigned: TrustUnsigned = False,
) -> None:
    """Normalise the watchlist's scores against a cohort of people not on it, and set its threshold for a
    target false-alert rate (FPIR) at its real size, measured on that cohort; record both. Live matching
    refuses a watchlist whose threshold was not calibrated this way for its embedder and normalisation."""
    if normalisation not in ("config", "none"):
        raise typer.BadParameter(f"--normalisation takes config or none, got {normalisation!r}")
    signing = file_signing(trust_unsigned)
    signing.require_key()  # the calibrated watchlist is written signed
    wl = Watchlist.load(watchlist, signing=signing)
    faces = Cohort.load(cohort, signing)
    if normalisation == "config":
        wl = normalise(wl, faces, settings().match.normalisation)
    elif wl.second is not None:
        raise OpenLFRError(f"watchlist '{wl.name}' fuses two embedders' scores, which needs --normalisation config")
    elif wl.scoring is not None:
        plain = wl.manifest.model_copy(update={"normalisation": None})
        wl = Watchlist(manifest=plain, vectors=wl.vectors, faces=wl.faces)
    probes, second = _mated(mated, allow_outside) if mated is not None else (None, None)
    c = calibrate(wl, faces, fpir, probes, second)
    apply(wl, c).save(output or watchlist, signing)
    console.print(f"scores: {c.scoring}")
    if c.expected_tpir is not None:
        console.print(f"expected TPIR (mated photos found at the threshold): {c.expected_tpir:.3f}")
    for group, rate in c.group_fpir.items():
        console.print(f"  false-alert rate of cohort group {term(group)}: {rate:.4f}")
    console.print(
        f"threshold {c.threshold:.6f} for FPIR {fpir:g} at {c.subjects} subjects: {c.false_alerts} of "
        f"{c.cohort_size} cohort faces reach it (FPIR {c.fpir:.4f}, 95% CI {c.fpir_low:.4f}-{c.fpir_high:.4f})"
    )
    if c.cohort_size < WARN_FALSE_ALERTS / fpir:
        err_console.print(
            f"[yellow]warning:[/] {c.cohort_size} cohort faces show an FPIR of {fpir:g} only roughly; "
            f"use at least {math.ceil(WARN_FALSE_ALERTS / fpir)} for a meaningful bound"
        )


@app.command("show", epilog="Example:\n\n  lfr watchlist show event.lfrw")
def show(watchlist: WatchlistArg, trust_unsigned: TrustUnsigned = False) -> None:
    """Print a watchlist's embedder, threshold and every subject with its grounds and templates."""
    wl = Watchlist.load(watchlist, signing=file_signing(trust_unsigned))
    m = wl.manifest
    console.print(
        f"[bold]{term(m.name)}[/]  format v{m.format_version}, created {m.created_at:%Y-%m-%d %H:%M} UTC\n"
        f"embedder {m.embedder} ({m.dimension}-D), threshold {m.threshold:.3f} ({m.threshold_source})\n"
        f"scores: {wl.scoring_signature}"
        + (f", cohort: {term(m.normalisation.cohort_source)}" if m.normalisation else "")
    )
    if m.second_embedder is not None:
        console.print(f"fused with second embedder {m.second_embedder.embedder} ({m.second_embedder.dimension}-D)")
    counts: dict[str, int] = {}
    for t in m.templates:
        counts[t.subject_id] = counts.get(t.subject_id, 0) + 1
    table = Table()
    for col in ("subject", "name", "category", "reason", "image source", "expires", "templates"):
        table.add_column(col, overflow="fold")
    for s in m.subjects:
        table.add_row(
            term(s.subject_id),
            term(s.display_name),
            s.category.value,
            term(s.reason or "-"),
            term(s.image_source or "-"),
            s.expires.isoformat() if s.expires else "-",
            str(counts.get(s.subject_id, 0)),
        )
    console.print(table)


def problems(wl: Watchlist, embedder_identity: str | None, second_identity: str | None = None) -> list[str]:
    """Every reason this watchlist is not fit to deploy (empty when it is); ``second_identity``: the
    configured second embedder's (None: none configured)."""
    found = []
    today = datetime.now(UTC).date()
    if embedder_identity is not None and embedder_identity != wl.embedder:
        found.append(f"enrolled with embedder {wl.embedder}, but the configured embedder is {embedder_identity}")
    if embedder_identity is not None:
        why = second_set.mismatch(wl.embedder, None if wl.second is None else wl.second.identity, second_identity)
        if why is not None:
            found.append(why)
    problem = wl.calibration_problem()
    if problem is not None:
        found.append(f"threshold not calibrated for this watchlist ({problem}): calibrate it (lfr watchlist calibrate)")
    for s in wl.manifest.subjects:
        if s.category is Category.OTHER:
            found.append(f"{s.subject_id}: category is 'other' (wanted, missing, vulnerable or risk_of_harm expected)")
        if not s.reason:
            found.append(f"{s.subject_id}: no reason recorded")
        if not s.image_source:
            found.append(f"{s.subject_id}: no image source recorded")
        if s.expires is None:
            found.append(f"{s.subject_id}: no expiry date")
        elif s.is_expired(today):
            found.append(f"{s.subject_id}: expired on {s.expires.isoformat()} (never searched)")
    return found


@app.command(
    "check",
    epilog="Example:\n\n  lfr watchlist check event.lfrw   (exit status 0 when fit to deploy, 1 otherwise)",
)
def check(watchlist: WatchlistArg, trust_unsigned: TrustUnsigned = False) -> None:
    """Check that every entry has a category, reason, image source and a future expiry, and that the
    watchlist was made by the configured embedder. Exits 1 and lists the problems if not."""
    wl = Watchlist.load(watchlist, signing=file_signing(trust_unsigned))
    second: str | None = None
    try:
        identity: str | None = embedders.create(settings().embedder).identity
        second = FaceAnalyzer(settings()).second_identity
    except OpenLFRError as exc:
        err_console.print(f"[yellow]warning:[/] cannot check the embedder: {term(exc)}")
        identity = None
    found = problems(wl, identity, second)
    if not found:
        console.print(f"[green]ok[/]: {term(wl.name)}: {len(wl.manifest.subjects)} subjects, all fit to deploy")
        return
    for p in found:
        console.print(f"[red]problem[/]: {term(p)}", highlight=False)
    console.print(f"{len(found)} problem(s) in {term(wl.name)}")
    raise typer.Exit(1)


@app.command(
    "sign",
    epilog="Example:\n\n  lfr watchlist sign event.lfrw   (one made before signing, or signed with another key)",
)
def sign(
    watchlist: WatchlistArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: in place).")] = None,
) -> None:
    """Sign a watchlist file that you have checked with this machine's signing key: one written before files
    were signed, or signed with another key. It is read as --trust-unsigned reads it (logged), and every
    check of its content still applies."""
    signing = file_signing(True)
    signing.require_key()
    wl = Watchlist.load(watchlist, signing=signing)
    path = wl.save(output or watchlist, signing)
    console.print(f"signed {term(path)} with key {signing.require_key().key_id}")


def _mated(
    manifest: Path, allow_outside: bool
) -> tuple[tuple[NDArray[np.float32], list[str]], NDArray[np.float32] | None]:
    """The largest face of each image of an enrolment manifest with its subject id, and the second
    embedder's templates of those faces (None when none is configured)."""
    analyzer = FaceAnalyzer(settings())
    vectors, seconds, ids = [], [], []
    items = from_csv(manifest, allow_outside)
    with progress() as bar:  # a long manifest says how far it is (on stderr)
        task = bar.add_task("mated photos", total=len(items))
        for item in items:
            faces = analyzer.analyze(analyzer.load(item.image))
            if faces:
                largest = max(faces, key=lambda f: f.detection.box.area)
                vectors.append(largest.template.vector)
                if largest.second is not None:
                    seconds.append(largest.second.vector)
                ids.append(item.subject.subject_id)
            bar.advance(task)
    if not vectors:
        raise OpenLFRError(f"no face found in the mated photos of {manifest}")
    second = np.stack(seconds).astype(np.float32) if seconds else None
    return (np.stack(vectors).astype(np.float32), ids), second
