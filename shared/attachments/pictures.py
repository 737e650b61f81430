"""What an uploaded picture must be, whoever takes it (a technician's photo or signature, a customer's photo of a
broken unit): an allowed type, its first bytes that type's, not empty and not too large. Pure."""

from __future__ import annotations

from collections.abc import Callable

from shared.errors import FieldProblem, InvalidInput, TooLarge, UnsupportedType

# what a picture's first bytes are, per allowed type: a body is refused when it is not what it claims
_MAGIC: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
}
PICTURE_TYPES = tuple(_MAGIC)
# an upload route's OpenAPI request body (`openapi_extra`): the picture itself, of one of those types
PICTURE_BODY = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PICTURE_TYPES},
    }
}


def checked_picture(content_type: str, content: bytes, max_bytes: int) -> str:
    """The picture's media type, once its header and bytes say it is one of PICTURE_TYPES within ``max_bytes``."""
    media = content_type.split(";")[0].strip().lower()
    if media not in _MAGIC:
        allowed = ", ".join(PICTURE_TYPES)
        problem = FieldProblem("content-type", f"must be one of {allowed}")
        raise UnsupportedType(f"content-type: must be one of {allowed}", problems=[problem])
    if not content:
        raise InvalidInput("body", "is empty")
    if len(content) > max_bytes:
        raise TooLarge(
            f"body: {len(content)} bytes, at most {max_bytes} (compress the picture)",
            problems=[FieldProblem("body", f"at most {max_bytes} bytes")],
        )
    if not _MAGIC[media](content):
        raise InvalidInput("body", f"is not a {media} picture")
    return media
