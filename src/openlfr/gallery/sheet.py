"""The HTML review sheet of an investigative search: each probe face beside its ranked candidates.

One self-contained file (thumbnails inline as data URIs, no script, no remote resource). Every name,
record id and path is escaped: text from a manifest can never become markup.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from openlfr.gallery.gallery import Gallery
from openlfr.gallery.search import ProbeResult

STYLE = (
    "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:2em}"
    "td{border:1px solid #ccc;padding:4px;text-align:center;vertical-align:top;font-size:12px}"
    "img{width:112px;height:auto}.probe{background:#eef}.note{color:#a00}"
)


def img_tag(jpeg: bytes | None) -> str:
    """An inline ``<img>`` of ``jpeg`` (a data URI), or a placeholder when there is none."""
    if not jpeg:
        return "<div>(no image)</div>"
    return f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode("ascii")}">'


def sheet_head(title: str, note: str, about: str) -> list[str]:
    """The opening lines of a review sheet: ``title`` and ``note`` are the program's own text, ``about``
    (which gallery, why) is markup the caller has already escaped."""
    return [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>",
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>",
        f"<p class='note'>{note}</p>",
        f"<p>{about}</p>",
    ]


def review_sheet(results: Sequence[ProbeResult], gallery: Gallery, reason: str) -> str:
    parts = sheet_head(
        "Candidates for review",
        "These are candidates for a trained person to review, ranked by similarity. None of them is a match by itself.",
        f"Gallery: {escape(str(gallery.path))} ({gallery.records.count()} records); reason: {escape(reason)}",
    )
    for result in results:
        parts.append(f"<h2>{escape(result.source)}</h2>")
        if result.error:
            parts.append(f"<p>unusable: {escape(result.error)}</p>")
            continue
        if not result.faces:
            parts.append("<p>no face found</p>")
        for face in result.faces:
            cells = [f"<td class='probe'>{img_tag(face.thumb)}<br>probe face {face.index}<br>q {face.quality}</td>"]
            for c in face.candidates:
                mark = "" if c.above_threshold is None else ("<br>&#8805; threshold" if c.above_threshold else "")
                cells.append(
                    f"<td>{img_tag(gallery.records.thumb(c.row_id))}<br>#{c.rank} {c.score:.4f}"
                    f"<br>{escape(c.subject_id)}<br>{escape(c.record_id)}<br>{escape(c.date or '')}{mark}</td>"
                )
            parts.append("<table><tr>" + "".join(cells) + "</tr></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
