"""Video sources: a real clip, a folder of real photos, and MJPEG streams served on loopback that are
cut, refused and stalled, the way cameras fail."""

from __future__ import annotations

import itertools
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from doubles import MjpegCamera
from openlfr.config import CameraConfig, ReconnectConfig
from openlfr.errors import SourceError
from openlfr.ingest.avsource import AvSource
from openlfr.ingest.video import ImageFolderSource, VideoSource, is_live_source, open_source, redact
from openlfr.types import Frame, SourceState

CLIP = ("videos", "hamilton_whitehouse", "short_hamilton_clip.mp4")
FAST = ReconnectConfig(initial_delay_s=0.2, max_delay_s=1.0, stall_timeout_s=2.0)


@pytest.fixture(scope="module")
def clip(shared_data: Path) -> Path:
    return shared_data.joinpath(*CLIP)


def _camera(source: str | Path, **kwargs: object) -> CameraConfig:
    return CameraConfig(id="cam", source=str(source), **kwargs)


# -- choosing the source --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "live"),
    [
        ("rtsp://user:pw@10.0.0.5:554/stream1", True),
        ("http://127.0.0.1:8080/video.mjpg", True),
        ("HTTPS://cam.example/live", True),
        ("udp://239.0.0.1:1234", True),
        ("/dev/video0", True),
        ("/srv/clips/door.mp4", False),
        ("file:///srv/clips/door.mp4", False),
    ],
)
def test_live_sources_are_urls_and_devices(source: str, live: bool) -> None:
    assert is_live_source(source) is live


def test_open_source_picks_the_implementation(tmp_path: Path) -> None:
    stream = open_source(_camera("rtsp://admin:secret@10.0.0.5/s1"), FAST)
    assert isinstance(stream, AvSource) and stream.live and stream.options["rtsp_transport"] == "tcp"
    webcam = open_source(_camera("/dev/video0"), FAST)
    assert isinstance(webcam, AvSource) and webcam.live and webcam.format == "v4l2"
    assert isinstance(open_source(_camera(tmp_path), FAST), ImageFolderSource)
    (tmp_path / "a.mp4").write_bytes(b"x")
    file = open_source(_camera(tmp_path / "a.mp4"), FAST)
    assert isinstance(file, AvSource) and not file.live
    for source in (stream, webcam, file):
        assert isinstance(source, VideoSource) and source.camera_id == "cam"
        assert source.state is SourceState.CONNECTING


def test_passwords_stay_out_of_messages() -> None:
    assert redact("rtsp://admin:secret@10.0.0.5/s1") == "rtsp://***@10.0.0.5/s1"
    assert redact("/clips/a@b.mp4") == "/clips/a@b.mp4"


# -- files ----------------------------------------------------------------------------------------


def test_file_read_flat_out(clip: Path) -> None:
    source = open_source(_camera(clip, realtime=False), FAST)
    frames = list(source.frames())
    assert 270 <= len(frames) <= 280
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert all(b.pts > a.pts for a, b in itertools.pairwise(frames))
    assert frames[0].pts == 0.0 and frames[-1].pts == pytest.approx(9.14, abs=0.1)
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.flags.c_contiguous
    assert {f.camera_id for f in frames} == {"cam"}
    assert source.state is SourceState.STOPPED
    assert source.stats.frames_read == len(frames) and source.stats.errors == 0


def test_frames_not_due_are_passed_over_before_their_pixels_are_made(clip: Path) -> None:
    every = list(open_source(_camera(clip, realtime=False), FAST).frames())
    asked: list[float] = []

    def due(pts: float) -> bool:
        asked.append(pts)
        return len(asked) % 3 == 1

    source = open_source(_camera(clip, realtime=False), FAST)
    kept = list(source.frames(due))
    assert asked == [f.pts for f in every], "asked once per frame, in order, with the frame's own time"
    assert [f.seq for f in kept] == list(range(0, len(every), 3)), "a passed-over frame keeps its place"
    for frame in kept:
        assert (frame.image == every[frame.seq].image).all() and frame.pts == every[frame.seq].pts
    assert source.stats.frames_read == len(every)


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_decoding_threads_give_the_same_frames(clip: Path, threads: int) -> None:
    one = [f.image for f in open_source(_camera(clip, realtime=False), FAST).frames()]
    frames = [f.image for f in open_source(_camera(clip, realtime=False, decode_threads=threads), FAST).frames()]
    assert len(frames) == len(one) and all((a == b).all() for a, b in zip(frames, one, strict=True))


def test_file_in_realtime_plays_at_its_native_rate(clip: Path) -> None:
    source = open_source(_camera(clip, realtime=True), FAST)
    start = time.monotonic()
    frames = _take(source.frames(), until=lambda f: f.pts >= 1.0)
    elapsed = time.monotonic() - start
    assert 0.7 < elapsed < 2.5, elapsed
    assert 28 <= len(frames) <= 32
    # Played as a camera: captured when the frame was due, so the stamps follow the clip's clock.
    assert frames[-1].captured_mono - frames[0].captured_mono == pytest.approx(frames[-1].pts, abs=0.2)


def test_file_loops_past_its_end(clip: Path) -> None:
    source = open_source(_camera(clip, realtime=False, loop=True), FAST)
    frames = _take(source.frames(), until=lambda f: f.seq >= 400)
    assert frames[-1].pts > 12.0
    assert all(b.pts > a.pts for a, b in itertools.pairwise(frames))
    assert source.state is SourceState.STOPPED  # the generator was closed


def test_stop_from_another_thread_ends_a_file_promptly(clip: Path) -> None:
    source = open_source(_camera(clip, realtime=True, loop=True), FAST)
    seen: list[Frame] = []
    consumer = threading.Thread(target=lambda: seen.extend(source.frames()), daemon=True)
    consumer.start()
    time.sleep(0.5)
    asked = time.monotonic()
    source.stop()
    consumer.join(timeout=3.0)
    assert not consumer.is_alive() and time.monotonic() - asked < 1.0
    assert seen and source.state is SourceState.STOPPED
    assert list(source.frames()) == []  # a stopped source stays stopped


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(SourceError, match=r"video file not found: .*nowhere\.mp4"):
        open_source(_camera(missing), FAST)
    with pytest.raises(SourceError, match=r"nowhere\.mp4"):
        list(AvSource("cam", str(missing), live=False).frames())


def test_a_file_that_is_not_a_video_is_a_source_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    source = open_source(_camera(fake, realtime=False), FAST)
    with pytest.raises(SourceError, match=r"cannot read video .*notes\.mp4") as caught:
        list(source.frames())
    assert "\n" not in str(caught.value)
    assert source.state is SourceState.STOPPED and source.stats.errors == 1


# -- folders --------------------------------------------------------------------------------------


def test_folder_skips_and_counts_bad_images(tmp_path: Path, demo: Path) -> None:
    for photo in sorted((demo / "probes").glob("*.jpg"))[:3]:
        shutil.copy(photo, tmp_path / photo.name)
    (tmp_path / "zz_junk.jpg").write_bytes(b"not a jpeg at all")
    source = open_source(_camera(tmp_path, realtime=False), FAST)
    frames = list(source.frames())
    assert len(frames) == 3 and [f.seq for f in frames] == [0, 1, 2]
    assert all(f.image.ndim == 3 and f.image.shape[2] == 3 for f in frames)
    assert source.stats.errors == 1 and "zz_junk.jpg" in (source.stats.last_error or "")
    assert source.state is SourceState.STOPPED


def test_folder_passes_over_images_not_due_unread(tmp_path: Path, demo: Path) -> None:
    for photo in sorted((demo / "probes").glob("*.jpg"))[:3]:
        shutil.copy(photo, tmp_path / photo.name)
    (tmp_path / "a_junk.jpg").write_bytes(b"not a jpeg at all")  # first, and passed over: never read
    source = ImageFolderSource("cam", tmp_path, fps=10.0, realtime=False)
    frames = list(source.frames(lambda pts: pts > 0.05))
    assert [f.seq for f in frames] == [1, 2, 3] and [f.pts for f in frames] == pytest.approx([0.1, 0.2, 0.3])
    assert source.stats.errors == 0 and source.stats.frames_read == 4


def test_folder_in_realtime_is_paced_by_fps(tmp_path: Path, demo: Path) -> None:
    for photo in sorted((demo / "probes").glob("*.jpg"))[:2]:
        shutil.copy(photo, tmp_path / photo.name)
    source = ImageFolderSource("cam", tmp_path, fps=10.0, loop=True)
    start = time.monotonic()
    frames = _take(source.frames(), until=lambda f: f.seq >= 5)
    assert 0.4 < time.monotonic() - start < 2.0
    assert [f.pts for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_empty_or_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no image files"):
        list(ImageFolderSource("cam", tmp_path).frames())
    with pytest.raises(SourceError, match="image folder not found"):
        list(ImageFolderSource("cam", tmp_path / "gone").frames())


# -- live streams ---------------------------------------------------------------------------------


@pytest.fixture
def camera() -> Iterator[MjpegCamera]:
    served = MjpegCamera()
    try:
        yield served
    finally:
        served.close()


class Consumer:
    """Runs ``frames()`` in a thread, as the pipeline does, keeping every frame and state change."""

    def __init__(self, config: CameraConfig, reconnect: ReconnectConfig) -> None:
        self.frames: list[tuple[Frame, SourceState]] = []
        self.states: list[SourceState] = [SourceState.CONNECTING]
        self.error: BaseException | None = None
        self.source = open_source(config, reconnect, on_state=self.states.append)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source.frames():
                self.frames.append((frame, self.source.state))
                frame.image[0, 0]  # touch the pixels, as a detector would
        except BaseException as exc:
            self.error = exc

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return False

    def finish(self) -> None:
        self.source.stop()
        self._thread.join(timeout=3.0)
        assert not self._thread.is_alive(), "frames() did not return after stop()"


def test_a_cut_stream_reconnects_and_frames_flow_again(camera: MjpegCamera) -> None:
    """Required: a stream served on loopback is cut mid-stream and comes back: the source reconnects,
    frames flow again; no crash."""
    started = time.monotonic()
    consumer = Consumer(CameraConfig(id="cam", source=camera.url), FAST)
    try:
        assert consumer.wait_for(lambda: len(consumer.frames) >= 15, 8.0), consumer.source.stats
        assert consumer.source.state is SourceState.LIVE
        camera.up.clear()  # cut mid-frame, then refuse with 503 for two seconds
        assert consumer.wait_for(lambda: SourceState.RECONNECTING in consumer.states, 5.0), consumer.states
        before_cut = len(consumer.frames)
        time.sleep(2.0)
        assert len(consumer.frames) == before_cut, "frames arrived while the camera was down"
        camera.up.set()
        assert consumer.wait_for(lambda: len(consumer.frames) >= before_cut + 15, 8.0), consumer.source.stats
        assert consumer.error is None
    finally:
        consumer.finish()
    states = consumer.states
    back = states.index(SourceState.RECONNECTING)
    assert states[: back + 1] == [SourceState.CONNECTING, SourceState.LIVE, SourceState.RECONNECTING]
    assert SourceState.LIVE in states[back:] and states[-1] is SourceState.STOPPED
    frames = [frame for frame, _ in consumer.frames]
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert all(b.pts > a.pts for a, b in itertools.pairwise(frames))
    # The outage is a gap in the clock (MJPEG has no timestamps of its own: frames are timed on arrival).
    assert frames[before_cut].pts - frames[before_cut - 1].pts > 1.5
    assert {f.image.shape for f in frames} == {(120, 160, 3)}
    stats = consumer.source.stats
    assert stats.reconnects >= 1 and stats.errors >= 2 and stats.frames_read == len(frames)
    assert camera.requests >= 3  # the first connection, at least one refused, the one that came back
    assert time.monotonic() - started < 30.0


def test_a_stalled_stream_is_reopened(camera: MjpegCamera) -> None:
    reconnect = ReconnectConfig(initial_delay_s=0.1, max_delay_s=0.5, stall_timeout_s=1.0)
    consumer = Consumer(CameraConfig(id="cam", source=camera.url), reconnect)
    try:
        assert consumer.wait_for(lambda: len(consumer.frames) >= 5, 8.0)
        camera.frozen.set()  # the connection stays open, but nothing comes
        assert consumer.wait_for(lambda: SourceState.STALLED in consumer.states, 4.0), consumer.states
        camera.frozen.clear()
        count = len(consumer.frames)
        assert consumer.wait_for(lambda: len(consumer.frames) >= count + 5, 8.0), consumer.source.stats
    finally:
        consumer.finish()
    stall = consumer.states.index(SourceState.STALLED)
    assert consumer.states[stall + 1] is SourceState.RECONNECTING
    assert SourceState.LIVE in consumer.states[stall:]
    assert "stalled" in (consumer.source.stats.last_error or "") and consumer.source.stats.reconnects >= 1
    assert consumer.error is None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_live_source_gives_up_after_max_attempts() -> None:
    url = f"http://user:secret@127.0.0.1:{_free_port()}/video.mjpg"
    reconnect = ReconnectConfig(initial_delay_s=0.1, max_delay_s=0.2, stall_timeout_s=1.0, max_attempts=2)
    source = open_source(CameraConfig(id="cam", source=url), reconnect)
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"gave up on http://\*\*\*@127\.0\.0\.1:\d+/video\.mjpg after 2") as caught:
        list(source.frames())
    assert time.monotonic() - start < 5.0
    assert "secret" not in str(caught.value) and "refused" in str(caught.value).lower()
    assert source.state is SourceState.STOPPED and source.stats.errors == 2 and source.stats.reconnects == 1


def test_stop_ends_a_live_source_during_its_backoff() -> None:
    url = f"http://127.0.0.1:{_free_port()}/video.mjpg"
    reconnect = ReconnectConfig(initial_delay_s=30.0, max_delay_s=60.0, stall_timeout_s=1.0)
    consumer = Consumer(CameraConfig(id="cam", source=url), reconnect)
    assert consumer.wait_for(lambda: consumer.source.state is SourceState.RECONNECTING, 5.0)
    asked = time.monotonic()
    consumer.finish()
    assert time.monotonic() - asked < 1.0
    assert consumer.error is None and consumer.source.state is SourceState.STOPPED


def _take(frames: Iterator[Frame], until: Callable[[Frame], bool]) -> list[Frame]:
    """Frames up to and including the first for which ``until`` is true; the generator is then closed."""
    taken: list[Frame] = []
    for frame in frames:
        taken.append(frame)
        if until(frame):
            break
    close = getattr(frames, "close", None)
    if close is not None:
        close()
    return taken
