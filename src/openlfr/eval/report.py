"""Evaluation reports: JSON results and a self-contained HTML page with plots.

Every report states what was measured and how, so that a figure can be traced and reproduced: the
command, the full configuration, the embedder identity (name and model checksum), a checksum of the
data used, the seed and the date. Plots are matplotlib figures embedded as PNG.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(slots=True)
class Table:
    columns: list[str]
    rows: list[list[object]]


@dataclass(slots=True)
class Section:
    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[bytes] = field(default_factory=list)
    """PNG images."""


class Display(Protocol):
    """Where an evaluation shows what it has found while it runs (``lfr eval``: the terminal). The
    measurements return data; saying it, and how, is the caller's."""

    def line(self, text: str) -> None:
        """A line of text (rich markup allowed)."""

    def table(self, title: str, table: Table, note: str = "") -> None:
        """A result table as soon as it is measured, with a line under it (none when empty)."""

    def progress(self, label: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        """A progress bar of ``total`` steps: the context gives the function that advances it."""


class Silent:
    """A ``Display`` that shows nothing: for scripts and tests."""

    def line(self, text: str) -> None:
        return None

    def table(self, title: str, table: Table, note: str = "") -> None:
        return None

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


SILENT = Silent()


@dataclass(slots=True)
class Report:
    title: str
    command: str
    configuration: dict[str, Any]
    embedder: str
    data: dict[str, str]
    """Data set name -> "N files, sha256 <digest of the sorted file checksums>"."""
    seed: int
    results: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def write(self, out: Path) -> tuple[Path, Path]:
        """Write ``out``/results.json and ``out``/report.html; returns both paths."""
        out.mkdir(parents=True, exist_ok=True)
        meta = {
            "title": self.title,
            "command": self.command,
            "created": self.created.isoformat(),
            "openlfr": _version(),
            "embedder": self.embedder,
            "data": self.data,
            "seed": self.seed,
            "configuration": self.configuration,
        }
        tables = {s.title: [asdict(t) for t in s.tables] for s in self.sections if s.tables}
        json_path = out / "results.json"
        json_path.write_text(
            json.dumps({"meta": meta, "results": self.results, "tables": tables}, indent=2, default=str),
            encoding="utf-8",
        )
        html_path = out / "report.html"
        html_path.write_text(self._html(meta), encoding="utf-8")
        return json_path, html_path

    def _html(self, meta: dict[str, Any]) -> str:
        esc = html.escape
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{esc(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
            "text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}"
            "pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
            f"<p>{esc(self.created.strftime('%Y-%m-%d %H:%M UTC'))} &middot; embedder <code>{esc(self.embedder)}"
            f"</code> &middot; seed {self.seed}</p>",
            f"<p>Command: <code>{esc(self.command)}</code></p>",
            "<h2>Data</h2><ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in self.data.items()) + "</ul>",
        ]
        for section in self.sections:
            parts.append(f"<h2>{esc(section.title)}</h2>")
            if section.text:
                parts.append(f"<p>{esc(section.text)}</p>")
            for table in section.tables:
                head = "".join(f"<th>{esc(str(c))}</th>" for c in table.columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{esc(_fmt(v))}</td>" for v in row) + "</tr>" for row in table.rows
                )
                parts.append(f"<table><tr>{head}</tr>{body}</table>")
            for png in section.figures:
                parts.append(
                    f"<img alt='{esc(section.title)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                )
        parts.append("<h2>Configuration</h2><pre>" + esc(json.dumps(meta["configuration"], indent=2)) + "</pre>")
        parts.append("</body></html>")
        return "\n".join(parts)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openlfr")
    except PackageNotFoundError:
        return "unknown"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def data_checksum(paths: list[Path], file_hashes: dict[Path, str] | None = None) -> str:
    """ "N files, sha256 X": X over the sorted per-file SHA-256s (from ``file_hashes`` where known)."""
    digests = sorted((file_hashes or {}).get(p) or hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)
    return f"{len(paths)} files, sha256 {hashlib.sha256(''.join(digests).encode()).hexdigest()[:16]}"


def png(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buf.getvalue()


def new_figure(width: float = 7.0, height: float = 4.5) -> Any:
    """A matplotlib figure and axes on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))
