"""Text people type into fields (titles, names, e-mails, passwords): one set of rules everywhere.

PostgreSQL cannot store a NUL character at all, and other control characters only hide or fake what
is shown, so they are refused with a 400 that names the field. What a shown name must not carry
(bidi overrides and other format characters, line and paragraph separators) is removed.
"""

from __future__ import annotations

import unicodedata

from socrate.errors import BadRequest

INVISIBLE = ("Cc", "Cf", "Zl", "Zp")  # control, format (bidi overrides, zero-width), line/paragraph breaks


def refuse_controls(value: str, field: str) -> str:
    """``value`` unchanged, or BadRequest if it holds a control character (NUL, escape, newline...)."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise BadRequest(f"{field} must not contain control characters (such as NUL or line breaks)")
    return value


def shown(value: str) -> str:
    """What may be displayed as a name: no invisible or layout-changing characters, trimmed."""
    return "".join(ch for ch in value if unicodedata.category(ch) not in INVISIBLE).strip()
