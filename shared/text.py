"""Text a person typed: any Unicode except the C0 control characters (tab, LF and CR allowed) and DEL.

PostgreSQL cannot store NUL in text, and the other controls only ever arrive by mistake or on purpose to
break a page or a log. `PlainText` refuses them while the request is parsed (422 naming the field);
`check_text` does the same for values that do not go through a pydantic model (e.g. an HTML form).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["PlainText", "check_text", "control_character"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(value: str) -> str | None:
    """The first forbidden control character in `value`, as U+XXXX, or None."""
    found = _CONTROL.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_text(value: str) -> str:
    """`value` unchanged; ValueError naming the first control character it holds."""
    bad = control_character(value)
    if bad is not None:
        raise ValueError(f"control character {bad} is not allowed in text")
    return value


PlainText = Annotated[str, AfterValidator(check_text)]
