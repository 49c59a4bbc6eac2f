"""What a 720p camera's frames cost before analysis: decoding, and converting a decoded frame to RGB.

Makes a 1280x720, 25 fps H.264 clip from the bundled walk-through (bench/out/decode-720p.mp4, once), then
reports CPU ms a frame for decoding alone (one thread, slice threads, FFmpeg's choice) and for converting a
decoded frame to RGB (``openlfr.ingest.avreader.rgb``, made only for the frames analysed).

    python bench/decode.py
"""

from __future__ import annotations

import resource
from pathlib import Path

import av

import openlfr
from openlfr.ingest.avreader import rgb

OUT = Path(__file__).resolve().parent / "out"
CLIP = OUT / "decode-720p.mp4"


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_clip() -> None:
    source = Path(openlfr.__file__).parent / "assets" / "demo" / "video" / "walkthrough.mp4"
    OUT.mkdir(exist_ok=True)
    with av.open(str(source)) as src, av.open(str(CLIP), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for frame in src.decode(video=0):
            big = frame.reformat(width=1280, height=720, format="yuv420p")
            big.pts = None
            out.mux(stream.encode(big))
        out.mux(stream.encode())


def decode_ms(thread_type: str | None) -> float:
    with av.open(str(CLIP)) as container:
        stream = container.streams.video[0]
        if thread_type:
            stream.thread_type = thread_type
        start, n = cpu_s(), 0
        for _ in container.decode(stream):
            n += 1
    return (cpu_s() - start) / n * 1000


def main() -> None:
    if not CLIP.exists():
        make_clip()
    for name, kind in (("one thread", None), ("slice threads", "SLICE"), ("FFmpeg's choice (AUTO)", "AUTO")):
        print(f"decode, {name}: {decode_ms(kind):.2f} ms CPU a frame")
    with av.open(str(CLIP)) as container:
        frames = list(container.decode(video=0))[:100]
    start = cpu_s()
    for _ in range(3):
        for frame in frames:
            rgb(frame)
    print(f"RGB conversion: {(cpu_s() - start) / (3 * len(frames)) * 1000:.2f} ms CPU a frame")


if __name__ == "__main__":
    main()
