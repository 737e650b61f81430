"""Surveys: one per completed job, answered once, by that job's customer; and the verified rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.requests.domain.kpis import csat_mean, nps_score
from shared.errors import Conflict, InvalidInput
from shared.text import control_character

MAX_COMMENT_LENGTH = 2000


@dataclass(frozen=True)
class SurveyAnswer:
    csat: int
    nps: int | None
    comment: str


def check_answer(answer: SurveyAnswer) -> None:
    if not 1 <= answer.csat <= 5:
        raise InvalidInput("csat", "from 1 to 5")
    if answer.nps is not None and not 0 <= answer.nps <= 10:
        raise InvalidInput("nps", "from 0 to 10")
    if len(answer.comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput("comment", f"at most {MAX_COMMENT_LENGTH} characters")
    if (bad := control_character(answer.comment)) is not None:
        raise InvalidText("comment", f"control character {bad} is not allowed in text")


class InvalidText(InvalidInput):
    """Text holding a control character (NUL and the like), which nobody types into a form."""


class SurveyAlreadyAnswered(Conflict):
    def __init__(self) -> None:
        super().__init__("this survey has already been answered")


class SurveyExpired(Conflict):
    def __init__(self) -> None:
        super().__init__("this survey has expired")


def answer_from_form(csat: str | None, nps: str | None, comment: str) -> SurveyAnswer:
    """A browser form's fields (all text; `nps` may be left out) as an answer; `check_answer` checks the ranges."""
    rating = _form_number(csat, "csat", "from 1 to 5")
    if rating is None:
        raise InvalidInput("csat", "from 1 to 5")
    return SurveyAnswer(csat=rating, nps=_form_number(nps, "nps", "from 0 to 10"), comment=comment)


def _form_number(value: str | None, field: str, reason: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(field, reason) from None


def ensure_open(answered_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    if answered_at is not None:
        raise SurveyAlreadyAnswered()
    if now >= expires_at:
        raise SurveyExpired()


@dataclass(frozen=True)
class Rating:
    """The verified rating: answers to surveys of completed jobs only."""

    count: int
    csat_mean: float | None
    nps: float | None
    nps_count: int


def rating_of(answers: list[tuple[int, int | None]]) -> Rating:
    csats = [csat for csat, _ in answers]
    npss = [nps for _, nps in answers if nps is not None]
    return Rating(count=len(csats), csat_mean=csat_mean(csats), nps=nps_score(npss), nps_count=len(npss))
