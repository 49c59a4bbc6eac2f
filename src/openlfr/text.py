"""User-supplied text on its way out: names are data, never markup and never a formula."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as the text it is: text starting like a formula gets a
    leading apostrophe; numbers and empty values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
