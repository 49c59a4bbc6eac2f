"""The fuzz campaign's targets (issue 16, item 7): one decoder per file format openlfr reads, each a
function of the file's bytes, with seeds to start from.

The property every target keeps: any input gives a result or the program's own error
(``OpenLFRError``), within ``LIMIT_S``; anything else (another exception, a hang) is a finding. The
hypothesis tests (tests/<folder>/test_*_fuzz.py, strategies in tests/fuzzing_inputs.py) and the
atheris harness (tests/fuzz/run.py, driven by scripts/fuzz) both call ``run_one``.

Zip formats (watchlists, cohorts) are fuzzed at two depths: bytes that start with ``PK`` are the file
itself; any other bytes are split at ``MEMBER_SEPARATOR`` into the archive's members (manifest or
metadata JSON first, then the ``.npy`` arrays), zipped as given, so that a mutation reaches the JSON
and ``.npy`` readers past the zip's checksums.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import signal
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import numpy as np

from openlfr.errors import OpenLFRError

if TYPE_CHECKING:
    from openlfr.match.signing import FileSigning

LIMIT_S = 10.0
"""The most one input may take before it counts as a hang."""
MEMBER_SEPARATOR = b"\n--member--\n"
EMBEDDER = "dlib_resnet:fuzz"
WATCHLIST_MEMBERS = ("manifest.json", "vectors.npy", "cohort.npy", "template_stats.npy", "fair_centroids.npy",
                     "fair_offsets.npy", "faces/t0.jpg")  # fmt: skip
COHORT_MEMBERS = ("cohort.json", "vectors.npy", "second_vectors.npy")


class HangError(Exception):
    """An input took longer than ``LIMIT_S``."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    decode: Callable[[Path, bytes], object]
    """Reads one input (its bytes, written to a file in the given folder by ``run_one``) as the program does."""
    seeds: Callable[[], list[bytes]]
    suffix: str


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``HangError`` in the main thread after ``seconds`` (SIGALRM; elsewhere no limit)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise HangError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_one(target: Target, data: bytes, folder: Path | None = None) -> object:
    """Decode ``data`` with ``target``; return what it gave, or the ``OpenLFRError`` it raised. Any other
    exception propagates (a finding), and so does ``HangError``."""
    with contextlib.ExitStack() as stack:
        where = folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lfr-fuzz-")))
        with time_limit(LIMIT_S):
            try:
                return target.decode(where, data)
            except OpenLFRError as exc:
                return exc


def zipped(data: bytes, members: tuple[str, ...]) -> bytes:
    """``data`` as a zip file: itself if it looks like one, else its parts as ``members`` (see module)."""
    if data.startswith(b"PK"):
        return data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, part in zip(members, data.split(MEMBER_SEPARATOR), strict=False):
            zf.writestr(name, part)
    return buf.getvalue()


def unzipped(data: bytes, members: tuple[str, ...]) -> bytes:
    """The member form of a zip file (the inverse of ``zipped`` for the members it names)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        parts = [zf.read(m) if m in names else b"" for m in members]
    while parts and not parts[-1]:
        parts.pop()
    return MEMBER_SEPARATOR.join(parts)


def _file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# -- the decoders ---------------------------------------------------------------------------------


def _trusted() -> FileSigning:
    """Fuzzed files are unsigned: read them trusted (the parser is what is fuzzed; the signature check
    has its own tests), without a warning per input."""
    from openlfr.match.signing import FileSigning

    logging.getLogger("openlfr.match").setLevel(logging.ERROR)
    return FileSigning(None, trust_unsigned=True)


def _seed_signing() -> FileSigning:
    """A throwaway key for writing the seeds: ``scripts/fuzz`` needs no key in the environment."""
    from openlfr.match.signing import FileSigning, SigningKey

    return FileSigning(SigningKey.generate())


def decode_watchlist(folder: Path, data: bytes) -> object:
    from openlfr.match.matcher import search
    from openlfr.match.watchlist import Watchlist

    watchlist = Watchlist.load(_file(folder, "w.lfrw", zipped(data, WATCHLIST_MEMBERS)), signing=_trusted())
    # what a loaded watchlist is used for: its readiness, then a search (the first embedder's only)
    watchlist.calibration_problem()
    if watchlist.second is None:
        search(watchlist, np.ones((1, watchlist.manifest.dimension), np.float32))
    return watchlist


def decode_cohort(folder: Path, data: bytes) -> object:
    from openlfr.match.cohort import Cohort, check_cohort

    cohort = Cohort.load(_file(folder, "c.lfrc", zipped(data, COHORT_MEMBERS)), signing=_trusted())
    check_cohort(cohort)
    return cohort


def decode_enrol_manifest(folder: Path, data: bytes) -> object:
    from openlfr.match.sources import from_csv

    return from_csv(_file(folder, "m.csv", data))


def decode_eval_manifest(folder: Path, data: bytes) -> object:
    from openlfr.eval.datasets import load_manifest

    return load_manifest(_file(folder, "manifest.csv", data))


def decode_config(folder: Path, data: bytes) -> object:
    from openlfr.config import load_settings

    return load_settings(_file(folder, "openlfr.toml", data))


def decode_image(folder: Path, data: bytes) -> object:
    from openlfr.ingest.images import load_image

    return load_image(_file(folder, "i.img", data))


def decode_video(folder: Path, data: bytes) -> object:
    from openlfr.config import CameraConfig, ReconnectConfig
    from openlfr.ingest.video import open_source

    camera = CameraConfig(id="fuzz", source=str(_file(folder, "v.mp4", data)), realtime=False)
    source = open_source(camera, ReconnectConfig())
    frames = 0
    try:
        for _ in source.frames():
            frames += 1
            if frames >= 3:
                break
    finally:
        source.stop()
    return frames


# -- the seeds ------------------------------------------------------------------------------------


def _vectors(n: int, rng: np.random.Generator, length: float = 1.4) -> np.ndarray:
    v = rng.normal(size=(n, 128)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True) * length).astype(np.float32)


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 150, 120)).save(buf, "JPEG")
    return buf.getvalue()


def _cohort(rng: np.random.Generator, n: int = 60) -> object:
    from openlfr.match.cohort import Cohort

    return Cohort(_vectors(n, rng), EMBEDDER, "fuzz strangers", datetime(2026, 1, 1, tzinfo=UTC),
                  tuple(f"{i + 1000:064x}" for i in range(n)), tuple("ab"[i % 2] for i in range(n)))  # fmt: skip


def _watchlist(rng: np.random.Generator) -> object:
    from openlfr.match.watchlist import Manifest, Subject, TemplateRecord, Watchlist

    subjects = [Subject(subject_id=s, display_name=s.title(), reason="fuzz") for s in ("alpha", "beta")]
    templates = [
        TemplateRecord(
            template_id=f"t{i}",
            subject_id=subjects[i % 2].subject_id,
            image=f"{i}.jpg",
            image_sha256=f"{i:064x}",
            box=(1.0, 2.0, 30.0, 40.0),
            quality_score=0.8,
            eye_distance_px=40.0,
            sharpness=100.0,
        )
        for i in range(3)
    ]
    manifest = Manifest(name="fuzz", created_at=datetime(2026, 1, 1, tzinfo=UTC), embedder=EMBEDDER, dimension=128,
                        threshold=0.5, threshold_source="default", subjects=subjects, templates=templates)  # fmt: skip
    return Watchlist(manifest=manifest, vectors=_vectors(3, rng), faces={"t0": _jpeg()})


def watchlist_seeds() -> list[bytes]:
    from openlfr.config import ScoringConfig
    from openlfr.match.calibrate import normalise

    rng = np.random.default_rng(16)
    plain = _watchlist(rng)
    normalised = normalise(plain, _cohort(rng), ScoringConfig(top_k=20, fair_clusters=3))  # type: ignore[arg-type]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, w in enumerate((plain, normalised)):
            data = w.save(Path(tmp) / f"{i}.lfrw", signing=_seed_signing()).read_bytes()  # type: ignore[attr-defined]
            out += [data, unzipped(data, WATCHLIST_MEMBERS)]
    return out


def cohort_seeds() -> list[bytes]:
    rng = np.random.default_rng(16)
    with tempfile.TemporaryDirectory() as tmp:
        data = _cohort(rng).save(Path(tmp) / "c.lfrc", signing=_seed_signing()).read_bytes()  # type: ignore[attr-defined]
    return [data, unzipped(data, COHORT_MEMBERS)]


def enrol_manifest_seeds() -> list[bytes]:
    head = "subject_id,display_name,category,reason,image_source,expires,image,box\n"
    return [
        (head + "obama,Barack Obama,wanted,warrant 1,custody,2099-01-01,obama.jpg,1 2 30 40\n"
         "obama,Barack Obama,wanted,warrant 1,custody,2099-01-01,sub/o2.jpg,\n"
         "biden,Joe Biden,missing,report 7,family,,biden.png,\n").encode(),
        b"\xef\xbb\xbf" + head.encode() + b'x,X,other,,,,x.jpg,"0,0,5,5"\n',
    ]  # fmt: skip


def eval_manifest_seeds() -> list[bytes]:
    return [
        b"path,identity,sex,race,age_band,age\na/1.jpg,alice,Female,East Asian,,34\nb/2.jpg,bob,male,,60+,\n",
        b"path,identity,gender,age\nx.png,x,M,7\n",
    ]


def config_seeds() -> list[bytes]:
    return [
        b'[embedder]\ntype = "dlib"\n\n[live]\nallow_uncalibrated = false\n\n'
        b'[[live.sinks]]\ntype = "webhook"\nurl = "https://example.org/hook"\nretries = 3\n\n'
        b'[[cameras]]\nid = "door"\nsource = "rtsp://cam/1"\nanalysis_fps = 5.0\n\n'
        b"[match]\ntop_k = 3\ndefault_threshold = 0.6\n",
        b"[store]\ndev_mode = true\n\n[api]\nrequests_per_minute = 100\n\n[live.tracker]\nbest_shots = 3\n",
    ]


def image_seeds() -> list[bytes]:
    from PIL import Image

    out = []
    rng = np.random.default_rng(16)
    pixels = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    for fmt, mode in (("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "I;16"), ("GIF", "P"), ("BMP", "RGB"),
                      ("TIFF", "CMYK"), ("WEBP", "RGB"), ("PPM", "RGB"), ("PNG", "LA")):  # fmt: skip
        buf = io.BytesIO()
        Image.fromarray(pixels).convert(mode).save(buf, fmt)
        out.append(buf.getvalue())
    return out


def video_seeds() -> list[bytes]:
    import av

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for ext, codec in (("mp4", "mpeg4"), ("ts", "mpeg2video"), ("avi", "mjpeg")):
            path = Path(tmp) / f"v.{ext}"
            with av.open(str(path), "w") as container:
                stream = container.add_stream(codec, rate=10)
                stream.width, stream.height = 32, 24
                stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
                for i in range(4):
                    image = np.full((24, 32, 3), i * 40, np.uint8)
                    for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
            out.append(path.read_bytes())
    return out


TARGETS = {
    t.name: t
    for t in (
        Target("watchlist", decode_watchlist, watchlist_seeds, ".lfrw"),
        Target("cohort", decode_cohort, cohort_seeds, ".lfrc"),
        Target("enrol_manifest", decode_enrol_manifest, enrol_manifest_seeds, ".csv"),
        Target("eval_manifest", decode_eval_manifest, eval_manifest_seeds, ".csv"),
        Target("config", decode_config, config_seeds, ".toml"),
        Target("image", decode_image, image_seeds, ".img"),
        Target("video", decode_video, video_seeds, ".mp4"),
    )
}


def write_seeds(target: Target, corpus: Path) -> int:
    """Write ``target``'s seeds into ``corpus`` (kept if there); the number written."""
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = target.seeds()
    for i, seed in enumerate(seeds):
        path = corpus / f"seed-{i}{target.suffix}"
        if not path.exists():
            path.write_bytes(seed)
    return len(seeds)


@functools.cache
def seeds(name: str) -> tuple[bytes, ...]:
    """``name``'s seeds, made once per process."""
    return tuple(TARGETS[name].seeds())
