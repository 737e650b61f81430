"""Text a person typed: any Unicode except the C0 control characters (tab, LF and CR allowed) and DEL.

PostgreSQL cannot store NUL in text, and the other controls only ever arrive by mistake or on purpose to
break a page or a log. `PlainText` refuses them while the request is parsed (422 naming the field);
`check_text` does the same for values that do not go through a pydantic model (e.g. an HTML form).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator

from shared.errors import InvalidInput

__all__ = ["PlainText", "check_text", "control_character", "refuse_unstorable_text", "unstorable_text"]

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


# text no service can store or show: NUL (PostgreSQL text and JSONB refuse it) and lone UTF-16 surrogates
# (JSON's \ud800 escapes decode to them; they cannot be encoded to UTF-8 for the database or a reply)
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
UNSTORABLE_REASON = "NUL (U+0000) and lone surrogates (U+D800 to U+DFFF) are not allowed in text"


def unstorable_text(value: Any, field: str = "") -> str | None:
    """The dotted name of the first string (or object key) in `value` holding NUL or a lone surrogate, or None."""
    if isinstance(value, str):
        return field or "body" if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{key}" if field else str(key)
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return field or "body"
            found = unstorable_text(item, name)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_text(item, f"{field}.{index}" if field else str(index))
            if found is not None:
                return found
    return None


async def refuse_unstorable_text(request: Request) -> None:
    """An app-wide dependency: NUL or a lone surrogate in a path or query parameter or anywhere in a JSON body
    is a 422 naming the field, before a route's own validation or the database can turn it into a 500."""
    for source in (request.path_params, request.query_params):
        for key, item in source.items():
            if unstorable_text(item) is not None or unstorable_text(key) is not None:
                raise InvalidInput(str(key), UNSTORABLE_REASON)
    if "json" not in request.headers.get("content-type", ""):
        return
    try:
        body = await request.json()  # FastAPI already parsed it for the route; Starlette keeps the result
    except ValueError:
        return  # the route's own parsing names the malformed body
    found = unstorable_text(body)
    if found is not None:
        raise InvalidInput(found, UNSTORABLE_REASON)
