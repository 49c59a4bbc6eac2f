"""The HTML sheet of a footage search: each probe face beside the appearances found, with their time spans.

Self-contained (crops inline), every name escaped: text from a file name can never become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from openlfr.footage.search import FootageResult
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.sheet import img_tag, sheet_head


def footage_sheet(results: Sequence[FootageResult], footage: Gallery, reason: str) -> str:
    parts = sheet_head(
        "Appearances for review",
        "Tracks in recorded footage ranked by similarity to the probe: candidates for a trained person to "
        "review, none of them a match by itself.",
        f"Footage: {escape(str(footage.path))} ({footage.records.count()} tracks); reason: {escape(reason)}",
    )
    for result in results:
        parts.append(f"<h2>{escape(result.source)} (threshold {result.threshold:.4f})</h2>")
        if result.error:
            parts.append(f"<p>unusable: {escape(result.error)}</p>")
            continue
        if not result.faces:
            parts.append("<p>no face found</p>")
        for face in result.faces:
            cells = [f"<td class='probe'>{img_tag(face.thumb)}<br>probe face {face.index}</td>"]
            for a in face.appearances:
                cells.append(
                    f"<td>{img_tag(footage.records.thumb(a.row_id))}<br>#{a.rank} {a.score:.4f}"
                    f"<br>{escape(a.camera)}<br>{escape(a.video)}<br>{a.start_s:.1f}-{a.end_s:.1f} s</td>"
                )
            if not face.appearances:
                cells.append("<td>no appearance above the threshold</td>")
            parts.append("<table><tr>" + "".join(cells) + "</tr></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
