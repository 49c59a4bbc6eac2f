"""Coverage-guided fuzzing of openlfr's decoders with atheris (libFuzzer); scripts/fuzz is the way in.

Each target (tests/fuzzing.py: TARGETS) runs in its own process: its seeds are written into its corpus
folder, its modules are imported instrumented, and libFuzzer mutates the corpus, keeping inputs that
reach new code. An input that raises anything but an ``OpenLFRError``, or takes longer than
``LIMIT_S``, is a finding: libFuzzer stops, prints the traceback and saves the input as
``<corpus>/crashes/<target>-crash-<sha1>``; ``scripts/fuzz TARGET --replay FILE`` runs it again.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

INSTRUMENTED = {
    "watchlist": ["openlfr.match.watchlist", "openlfr.match.archive", "openlfr.match.matcher", "zipfile"],
    "cohort": ["openlfr.match.calibrate", "openlfr.match.archive", "zipfile"],
    "enrol_manifest": ["openlfr.match.sources", "csv"],
    "eval_manifest": ["openlfr.eval.datasets", "csv"],
    "config": ["openlfr.config", "tomllib", "yaml"],
    "image": ["openlfr.ingest.images", "PIL"],
    "video": ["openlfr.ingest.avsource", "openlfr.ingest.avreader"],
}
"""What each target imports under instrumentation (coverage guides the mutations there)."""


def fuzz_one(name: str, libfuzzer_args: list[str]) -> None:
    """Run target ``name`` under libFuzzer in this process (it exits when done)."""
    import atheris

    with atheris.instrument_imports(include=[m.split(".")[0] for m in INSTRUMENTED[name]]):
        for module in INSTRUMENTED[name]:
            importlib.import_module(module)
    from fuzzing import TARGETS, run_one

    target = TARGETS[name]
    folder = Path(tempfile.mkdtemp(prefix=f"lfr-fuzz-{name}-"))

    def one_input(data: bytes) -> None:
        run_one(target, data, folder)

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def campaign(args: argparse.Namespace) -> int:
    """Run each chosen target in its own process; 0 if none found anything."""
    from fuzzing import TARGETS, write_seeds

    names = args.targets or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        sys.stderr.write(f"unknown target(s): {', '.join(unknown)}; known: {', '.join(TARGETS)}\n")
        return 2
    failed = []
    for name in names:
        corpus = args.corpus / name
        crashes = args.corpus / "crashes"
        crashes.mkdir(parents=True, exist_ok=True)
        write_seeds(TARGETS[name], corpus)
        budget = [f"-runs={args.runs}"] if args.runs is not None else [f"-max_total_time={args.seconds}"]
        libfuzzer = [*budget, f"-timeout={int(args.timeout)}", f"-rss_limit_mb={args.rss_limit_mb}",
                     f"-artifact_prefix={crashes}/{name}-", "-print_final_stats=1", str(corpus)]  # fmt: skip
        log = args.corpus / f"{name}.log"
        started = time.monotonic()
        with log.open("w") as out:
            rc = subprocess.run(
                [sys.executable, __file__, "--one", name, "--", *libfuzzer], stdout=out, stderr=subprocess.STDOUT
            ).returncode
        seconds = time.monotonic() - started
        runs = _stat(log, "stat::number_of_executed_units")
        verdict = "ok" if rc == 0 else "FINDING"
        sys.stdout.write(f"{name:15} {verdict:8} {runs or '?':>7} inputs in {seconds:6.1f} s  (log {log})\n")
        sys.stdout.flush()
        if rc != 0:
            failed.append(name)
            sys.stderr.write("".join(log.read_text(errors="replace").splitlines(keepends=True)[-40:]))
    return 1 if failed else 0


def replay(name: str, files: list[Path]) -> int:
    """Run saved inputs through target ``name`` (uninstrumented) and show what each gives."""
    from fuzzing import TARGETS, run_one

    for file in files:
        result = run_one(TARGETS[name], file.read_bytes())
        sys.stdout.write(f"{file}: {type(result).__name__}: {str(result)[:200]}\n")
    return 0


def _stat(log: Path, key: str) -> str | None:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(key):
            return line.split(":")[-1].strip()
    return None


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":  # the child: one target under libFuzzer
        fuzz_one(sys.argv[2], sys.argv[4:])
        return 0
    parser = argparse.ArgumentParser(
        prog="scripts/fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  scripts/fuzz                          every target, 60 s each\n"
        "  scripts/fuzz watchlist --runs 10000   one target, 10,000 inputs (the acceptance figure)\n"
        "  scripts/fuzz image --seconds 3600     an hour on the image decoder, corpus kept in .fuzz/\n"
        "  scripts/fuzz image --replay .fuzz/corpus/crashes/image-crash-*   what a finding does now\n"
        "targets: watchlist, cohort, enrol_manifest, eval_manifest, config, image, video",
    )
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=int, default=60, help="time per target (default 60)")
    budget.add_argument("--runs", type=int, help="inputs per target instead of a time")
    corpus_help = "corpus folder, one subfolder per target, kept between runs (default .fuzz/corpus)"
    parser.add_argument("--corpus", type=Path, default=ROOT / ".fuzz" / "corpus", help=corpus_help)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one input may take (a hang)")
    parser.add_argument("--rss-limit-mb", type=int, default=4096, help="memory one target may use")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="FILE", help="run saved inputs through one target")
    args = parser.parse_args()
    if args.replay:
        if len(args.targets) != 1:
            parser.error("--replay needs exactly one target")
        return replay(args.targets[0], args.replay)
    os.environ.setdefault("PYTHONPATH", f"{ROOT / 'src'}{os.pathsep}{ROOT / 'tests'}")
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
