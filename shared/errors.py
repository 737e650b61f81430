"""Domain errors, mapped once to problem+json (RFC 9457) at the HTTP edge."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One offending input field and why it was refused."""

    field: str
    reason: str


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    retry_after_s: int | None = None  # sent as Retry-After: when trying again may succeed

    def __init__(
        self, detail: str, *, problems: list[FieldProblem] | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", problems=[FieldProblem(field, reason)])


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class TooLarge(DomainError):
    status = 413
    slug = "too-large"
    title = "Content too large"


class UnsupportedType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class Unavailable(DomainError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"
    retry_after_s = 5


@dataclass
class PermanentMessageError(Exception):
    """A message that can never be handled (bad data, unknown reference): dead-letter it, don't retry."""

    reason: str
    extra: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.reason
