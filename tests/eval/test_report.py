"""Reports: results.json that parses and names its provenance, report.html with its tables and plots."""

from __future__ import annotations

import json
from pathlib import Path

from openlfr.eval.report import Report, Section, Table, data_checksum, new_figure, png


def test_report_files(tmp_path: Path, demo: Path) -> None:
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    paths = sorted((demo / "probes").glob("*.jpg"))
    report = Report(
        title="Test report",
        command="lfr eval test",
        configuration={"detector": {"type": "hog"}},
        embedder="dlib-resnet-v1@abc",
        data={"probes": data_checksum(paths)},
        seed=7,
        results={"accuracy": 0.99},
        sections=[Section("Accuracy", "text & more", [Table(["k", "v"], [["a", 0.123456], ["b", 1e-5]])], [png(fig)])],
    )
    json_path, html_path = report.write(tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert data["results"] == {"accuracy": 0.99}
    assert data["meta"]["seed"] == 7 and data["meta"]["embedder"] == "dlib-resnet-v1@abc"
    assert data["meta"]["data"]["probes"].startswith(f"{len(paths)} files, sha256 ")
    assert data["tables"]["Accuracy"][0]["rows"][0] == ["a", 0.123456]
    page = html_path.read_text()
    assert "text &amp; more" in page and "data:image/png;base64," in page and "0.1235" in page and "1e-05" in page
    assert data_checksum(paths) == data_checksum(list(reversed(paths))), "order does not change the checksum"
