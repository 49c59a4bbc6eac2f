"""Footage search on the Hamilton clip: Lin-Manuel Miranda's photo finds his appearance at the right time
first; an LFW face (absent) finds nothing above the threshold; a truncated video is a clear error and
loses nothing already indexed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import av
import pytest
from pydantic import SecretStr

from openlfr.analysis import FaceAnalyzer
from openlfr.config import DlibOnnxEmbedderConfig, Settings, StoreConfig
from openlfr.footage.search import search_footage
from openlfr.footage.store import add_video, index_video, open_footage, threshold_of
from openlfr.footage.tracks import VideoTracks, collect_tracks
from openlfr.footage.video import match_tracks
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.index import normalise
from openlfr.store.crypto import generate_key

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("footage_store")
    return Settings(embedder=DlibOnnxEmbedderConfig(), store=StoreConfig(key=SecretStr(generate_key()), data_dir=data))


@pytest.fixture(scope="module")
def hamilton(shared_data: Path) -> Path:
    return shared_data / "videos" / "hamilton_whitehouse"


@pytest.fixture(scope="module")
def clip(hamilton: Path, settings: Settings) -> VideoTracks:
    """The clip's tracks, through the live pipeline, once."""
    found = collect_tracks(settings, hamilton / "short_hamilton_clip.mp4")
    assert found.complete and found.tracks, found
    return found


@pytest.fixture(scope="module")
def footage(clip: VideoTracks, hamilton: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("footage") / "f"
    folder = open_footage(path, settings, FaceAnalyzer(settings).embedder.identity)
    sha = hashlib.sha256((hamilton / "short_hamilton_clip.mp4").read_bytes()).hexdigest()
    report = add_video(folder, clip, sha, retain_days=30)
    assert report.complete and report.added == report.tracks == len(clip.tracks), report
    folder.close()
    return path


def miranda_times(hamilton: Path, analyzer: FaceAnalyzer, threshold: float) -> list[float]:
    """Ground truth by another path: a still decoded every second, each face compared 1:1 with his photo."""
    photo = analyzer.analyze(analyzer.load(hamilton / "enrol" / "lin-manuel-miranda.png"))[0].template.vector
    times = []
    with av.open(str(hamilton / "short_hamilton_clip.mp4")) as container:
        next_t = 0.0
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_t:
                continue
            next_t = t + 1.0
            faces = analyzer.analyze(frame.to_ndarray(format="rgb24"))
            if any(float((normalise(f.template.vector) @ normalise(photo).T)[0, 0]) >= threshold for f in faces):
                times.append(t)
    return times


def test_his_photo_finds_his_appearance_first_at_the_right_time(
    footage: Path, hamilton: Path, settings: Settings
) -> None:
    analyzer = FaceAnalyzer(settings)
    folder = Gallery.open(footage, settings.store)
    [result] = search_footage(folder, analyzer, [hamilton / "enrol" / "lin-manuel-miranda.png"], "test: Hamilton")
    [face] = result.faces
    assert face.appearances, "his appearance was not found above the threshold"
    first = face.appearances[0]
    truth = miranda_times(hamilton, analyzer, threshold_of(folder))
    assert truth, "the stills path saw him nowhere: the ground truth is empty"
    assert any(first.start_s - 0.5 <= t <= first.end_s + 0.5 for t in truth), (first, truth)
    assert first.video == "short_hamilton_clip.mp4" and first.camera == "short_hamilton_clip"
    assert [a.rank for a in face.appearances] == list(range(1, len(face.appearances) + 1))
    assert folder.records.audit_entries()[-1]["action"] == "search"
    assert folder.records.audit_entries()[-1]["detail"]["reason"] == "test: Hamilton"  # type: ignore[index]
    folder.close()


def test_an_absent_face_finds_nothing_above_the_threshold(footage: Path, shared_data: Path, settings: Settings) -> None:
    folder = Gallery.open(footage, settings.store)
    lfw = sorted((shared_data / "lfw").rglob("*.jpg"))[:3]
    results = search_footage(folder, FaceAnalyzer(settings), lfw, "test: absent")
    assert all(face.appearances == [] for r in results for face in r.faces)
    assert sum(len(r.faces) for r in results) >= 3
    everything = search_footage(folder, FaceAnalyzer(settings), lfw[:1], "test: absent", everything=True)
    assert everything[0].faces[0].appearances, "with everything, the ranked tracks below it are listed"
    assert not any(a.above_threshold for a in everything[0].faces[0].appearances)
    folder.close()


def faststart(source: Path, target: Path) -> Path:
    """The same packets with the MP4 index at the front (as cameras and recorders often write it), so that
    a cut copy still opens and plays up to the cut."""
    with av.open(str(source)) as src, av.open(str(target), "w", options={"movflags": "+faststart"}) as out:
        stream = src.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                out.mux(packet)
    return target


def test_a_truncated_video_is_a_clear_error_and_loses_nothing(
    footage: Path, hamilton: Path, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "f"
    shutil.copytree(footage, path)
    folder = Gallery.open(path, settings.store)
    before = folder.records.count()
    clip = hamilton / "short_hamilton_clip.mp4"
    cut = tmp_path / "cut.mp4"  # its index (moov) is at the end: cut, it does not open at all
    cut.write_bytes(clip.read_bytes()[:300_000])
    report = index_video(folder, settings, cut, retain_days=30)
    assert not report.complete and report.added == 0
    assert report.problem is not None and "cannot read video" in report.problem and str(cut) in report.problem
    assert folder.records.count() == before

    whole = faststart(clip, tmp_path / "fast.mp4")
    half = tmp_path / "half.mp4"  # index at the front: plays up to the cut, then simply ends
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    report = index_video(folder, settings, half, retain_days=30)
    assert not report.complete and report.problem is not None
    assert "the video ended after" in report.problem and "frames its header states" in report.problem
    assert report.added == report.tracks > 0, "the tracks seen before the cut are kept"
    assert folder.records.count() == before + report.added
    spans = [folder.records.fields(int(r)) for ids, _ in folder.records.templates() for r in ids]
    assert max(float(str(f["end_s"])) for f in spans if f["video"] == "half.mp4") < 6.0

    again = index_video(folder, settings, clip, retain_days=30)
    assert again.already_indexed and folder.records.count() == before + report.added
    folder.close()


def test_search_video_finds_him_against_a_watchlist_of_his_photo(
    clip: VideoTracks, hamilton: Path, settings: Settings, tmp_path: Path
) -> None:
    """``lfr search-video``: the same tracks matched against a watchlist (its threshold)."""
    from openlfr.match.enrol import enrol
    from openlfr.match.sources import from_folder

    (tmp_path / "lin-manuel-miranda").mkdir()
    (tmp_path / "lin-manuel-miranda" / "photo.png").symlink_to(hamilton / "enrol" / "lin-manuel-miranda.png")
    (tmp_path / "alex-lacamoire").mkdir()
    (tmp_path / "alex-lacamoire" / "photo.png").symlink_to(hamilton / "enrol" / "alex-lacamoire.png")
    watchlist, _ = enrol(from_folder(tmp_path), FaceAnalyzer(settings), name="hamilton", threshold=0.5)
    found = match_tracks(clip, watchlist)
    assert found.hits and found.hits[0].subject_id == "lin-manuel-miranda", found
    assert found.tracks == len(clip.tracks) and found.complete
    assert found.uncalibrated is not None  # a threshold set by hand is said to be one
