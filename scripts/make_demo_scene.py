"""Rebuild the demo's walk-through clip from the bundled public-domain photos.

    .venv/bin/python scripts/make_demo_scene.py

Writes src/openlfr/assets/demo/video/walkthrough.mp4 and walkthrough.json (ground truth). Obama and
Biden are on the demo watchlist (enrolled from other photos); Eileen Collins is not.
"""

from __future__ import annotations

import json
from pathlib import Path

from openlfr.assets import demo_dir
from openlfr.eval.scenes import Pass, SceneSpec, render


def main() -> None:
    probes = demo_dir() / "probes"
    spec = SceneSpec(
        duration_s=13.0,
        passes=[
            Pass("obama", str(probes / "obama_congress_2009.jpg"), 0.5, 6.5, (200, 300, 36), (520, 340, 150)),
            Pass("collins", str(probes / "eileen_collins_nasa.jpg"), 2.0, 8.0, (1100, 260, 34), (820, 340, 140)),
            Pass("biden", str(probes / "biden_blue_room_2010.jpg"), 6.5, 12.5, (640, 200, 30), (640, 380, 160)),
        ],
    )
    out = render(spec, demo_dir() / "video" / "walkthrough.mp4")
    truth = json.loads(out.with_suffix(".json").read_text())
    for walk in truth["spec"]["passes"]:  # portable: image paths relative to the demo folder
        walk["image"] = "probes/" + Path(walk["image"]).name
    truth["watchlisted"] = ["obama", "biden"]
    out.with_suffix(".json").write_text(json.dumps(truth, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
