"""User-supplied text on its way out: names are data, never markup and never a formula.

Every name, reason, location, actor, file name or error message that reaches a terminal goes
through ``term``; every cell of a CSV the program writes goes through ``csv_cell``."""

from __future__ import annotations

import re
import unicodedata

from rich.markup import escape

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters (ESC starts a terminal escape sequence), DEL, and the Unicode
direction marks and overrides that reorder what a reader sees."""

_CONTROL_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object, *, lines: bool = False) -> str:
    """``value`` as text with every control character shown as its escape (ESC as ``\\x1b``), so
    that nothing it holds can move the cursor, clear the screen or reorder the line. ``lines``: keep
    newlines (a multi-line message); otherwise a newline is shown as ``\\x0a``, as a name is one line."""
    pattern = _CONTROL_KEEP_LINES if lines else _CONTROL
    return pattern.sub(_visible, str(value))


def term(value: object, *, lines: bool = False) -> str:
    """``value`` ready for a Rich console's markup: control characters made visible (``visible``) and
    Rich markup escaped, so ``[/]`` or ``[bold red]`` in a name prints as itself."""
    return escape(visible(value, lines=lines))


def name_key(name: str) -> str:
    """``name`` as compared where it matters (the creator of a deployment is not its authoriser, the
    operator of an alert is not its engagement officer): Unicode NFKC, case folded, whitespace trimmed and
    collapsed, so 'Sgt.Smith', 'sgt.smith ' and 'ＳＧＴ.smith' are one person."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def same_name(a: str, b: str) -> bool:
    """Whether two actor names are one person's (``name_key``)."""
    return name_key(a) == name_key(b)


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as the text it is: text starting like a formula gets a
    leading apostrophe, and control characters other than newlines are made visible (``visible``), as
    an export is also read with ``cat``; numbers and empty values pass unchanged."""
    if not isinstance(value, str):
        return value
    text = visible(value, lines=True)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
