"""Surveys: one per completed job, answered once, by that job's customer; and the verified rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.requests.domain.kpis import csat_mean, nps_score
from shared.errors import Conflict, InvalidInput

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


def ensure_open(answered_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    if answered_at is not None:
        raise Conflict("this survey has already been answered")
    if now >= expires_at:
        raise Conflict("this survey has expired")


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
