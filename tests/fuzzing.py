"""The fuzz campaign's targets (issue 16, item 7): one decoder per file format openlfr reads, each a
function of the file's bytes, with seeds to start from.

The property every target keeps: any input gives a result or the program's own error
(``OpenLFRError``), within ``LIMIT_S``; anything else (another exception, a hang) is a finding. The
hypothesis tests (tests/<folder>/test_*_fuzz.py) and the atheris harness (tests/fuzz/run.py, driven
by scripts/fuzz) both call ``run_one``.

Zip formats (watchlists, cohorts) are fuzzed at two depths: bytes that start with ``PK`` are the file
itself; any other bytes are split at ``MEMBER_SEPARATOR`` into the archive's members (manifest or
metadata JSON first, then the ``.npy`` arrays), zipped as given, so that a mutation reaches the JSON
and ``.npy`` readers past the zip's checksums.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from openlfr.errors import OpenLFRError

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


def decode_watchlist(folder: Path, data: bytes) -> object:
    from openlfr.match.matcher import search
    from openlfr.match.watchlist import Watchlist

    watchlist = Watchlist.load(_file(folder, "w.lfrw", zipped(data, WATCHLIST_MEMBERS)))
    # what a loaded watchlist is used for: its readiness, then a search (the first embedder's only)
    watchlist.calibration_problem()
    if watchlist.second is None:
        search(watchlist, np.ones((1, watchlist.manifest.dimension), np.float32))
    return watchlist


def decode_cohort(folder: Path, data: bytes) -> object:
    from openlfr.match.calibrate import Cohort, check_cohort

    cohort = Cohort.load(_file(folder, "c.lfrc", zipped(data, COHORT_MEMBERS)))
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
    from openlfr.match.calibrate import Cohort

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
            data = w.save(Path(tmp) / f"{i}.lfrw").read_bytes()  # type: ignore[attr-defined]
            out += [data, unzipped(data, WATCHLIST_MEMBERS)]
    return out


def cohort_seeds() -> list[bytes]:
    rng = np.random.default_rng(16)
    with tempfile.TemporaryDirectory() as tmp:
        data = _cohort(rng).save(Path(tmp) / "c.lfrc").read_bytes()  # type: ignore[attr-defined]
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


# -- hypothesis strategies ------------------------------------------------------------------------


def mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A seed with up to six edits: a byte flipped, a range cut out, bytes inserted, the file truncated."""
    edit = st.tuples(
        st.sampled_from(("flip", "cut", "insert", "truncate")), st.integers(0, 1 << 20), st.binary(max_size=24)
    )
    return st.builds(_mutate, st.sampled_from(seeds), st.lists(edit, max_size=6))


def _mutate(seed: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for op, where, blob in edits:
        at = where % (len(data) + 1)
        if op == "flip" and data:
            data[at % len(data)] ^= 1 << (where % 8)
        elif op == "cut":
            del data[at : at + 1 + len(blob)]
        elif op == "insert":
            data[at:at] = blob
        else:
            del data[at:]
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value (NaN and infinities included: Python's json writes and reads them)."""


def json_paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indices)."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths += json_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            paths += json_paths(inner, (*prefix, i))
    return paths


def replaced(value: object, path: tuple[str | int, ...], new: object, delete: bool = False) -> object:
    """A deep copy of ``value`` with the item at ``path`` set to ``new`` (or deleted)."""
    out = json.loads(json.dumps(value))
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


ARRAYS = hnp.arrays(
    st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.uint8, np.bool_, np.complex64, "<U3", "S2"]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
)
"""Arrays of any kind a crafted ``.npy`` member could hold (no objects: the reader refuses pickles)."""


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@functools.cache
def seeds(name: str) -> tuple[bytes, ...]:
    """``name``'s seeds, made once per process."""
    return tuple(TARGETS[name].seeds())


def seed_members(name: str) -> dict[str, bytes]:
    """The members of ``name``'s last zip seed (the fullest: a normalised watchlist)."""
    return members_of([s for s in seeds(name) if s.startswith(b"PK")][-1])


def fuzzed(name: str) -> st.SearchStrategy[bytes]:
    """Mutations of ``name``'s seeds (made on first draw, not at collection)."""
    return st.deferred(lambda: mutated(list(seeds(name))))


def examples(n: int) -> settings:
    """Hypothesis settings of the campaign's property tests: ``n`` inputs (times ``LFR_FUZZ_SCALE``, 1 in CI)."""
    return settings(
        max_examples=max(1, int(n * float(os.environ.get("LFR_FUZZ_SCALE", "1")))),
        deadline=None,  # a shared machine; a hang is caught by run_one's LIMIT_S instead
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
