"""HTTP API of surveys (signed links without login, or the customer's own session) and the public rating."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from services.requests.api.routes import runtime_db, service_settings
from services.requests.api.schemas import RatingOut, SurveyAnswerIn, SurveyOut
from services.requests.domain.surveys import Rating, SurveyAnswer
from services.requests.survey_links import SurveyLinks
from services.requests.surveys import (
    answer_as_customer,
    answer_by_link,
    survey_by_link,
    survey_of_request,
    verified_rating,
)
from shared.auth import Principal, current_principal

router = APIRouter(tags=["surveys"])


def _links(request: Request) -> SurveyLinks:
    links: SurveyLinks = request.app.state.survey_links
    return links


def _survey_out(survey: dict[str, Any], technician_first_name: str | None) -> SurveyOut:
    return SurveyOut.model_validate({**survey, "technician_first_name": technician_first_name,
                                     "answered": survey["answered_at"] is not None})


def _answer(body: SurveyAnswerIn) -> SurveyAnswer:
    return SurveyAnswer(csat=body.csat, nps=body.nps, comment=body.comment)


@router.get("/surveys/{token}", response_model=SurveyOut, summary="The survey a signed link opens (no login)")
async def open_survey(token: str, request: Request) -> SurveyOut:
    survey, first_name = await survey_by_link(runtime_db(request), _links(request), token)
    return _survey_out(survey, first_name)


@router.post("/surveys/{token}", response_model=SurveyOut, status_code=status.HTTP_201_CREATED,
             summary="Answer through a signed link (no login); once only")
async def answer_with_link(token: str, body: SurveyAnswerIn, request: Request) -> SurveyOut:
    survey = await answer_by_link(runtime_db(request), _links(request), token, _answer(body))
    return _survey_out(survey, None)


@router.get("/requests/{request_id}/survey", response_model=SurveyOut)
async def get_request_survey(request_id: uuid.UUID, request: Request,
                             principal: Principal = Depends(current_principal)) -> SurveyOut:
    survey, first_name = await survey_of_request(runtime_db(request), principal, request_id)
    return _survey_out(survey, first_name)


@router.post("/requests/{request_id}/survey", response_model=SurveyOut, status_code=status.HTTP_201_CREATED,
             summary="Answer as the job's customer; once only")
async def answer_request_survey(request_id: uuid.UUID, body: SurveyAnswerIn, request: Request,
                                principal: Principal = Depends(current_principal)) -> SurveyOut:
    survey = await answer_as_customer(runtime_db(request), principal, request_id, _answer(body))
    return _survey_out(survey, None)


@router.get("/rating.{representation}", response_model=RatingOut, tags=["rating"],
            summary="The company's verified rating (public, cacheable): JSON, or an embeddable HTML snippet",
            responses={200: {"content": {"text/html": {}}}, 304: {"description": "Not modified"}})
async def public_rating(representation: Literal["json", "html"], request: Request,
                        if_none_match: str | None = Header(None, alias="If-None-Match")) -> Response:
    settings = service_settings(request)
    now = datetime.now(UTC)
    rating = await verified_rating(runtime_db(request), settings.rating_window_days, now)
    since = (now - timedelta(days=settings.rating_window_days)).date()
    out = RatingOut(count=rating.count, csat_mean=rating.csat_mean, nps=rating.nps, nps_count=rating.nps_count,
                    window_days=settings.rating_window_days, since=since)
    body = out.model_dump_json() if representation == "json" else rating_snippet(rating)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={settings.rating_cache_max_age_s}",
               "Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding"}
    if if_none_match and etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if representation == "json":
        return JSONResponse(out.model_dump(mode="json"), headers=headers)
    return HTMLResponse(body, headers=headers)


def rating_snippet(rating: Rating) -> str:
    """Self-contained markup with schema.org AggregateRating, for pasting into a company's site."""
    if rating.count == 0 or rating.csat_mean is None:
        return '<div class="fieldline-rating fieldline-rating--empty">No verified ratings yet</div>\n'
    nps = f'<span class="fieldline-rating__nps">NPS {rating.nps:+.0f}</span>' if rating.nps is not None else ""
    return (
        '<div class="fieldline-rating" itemscope itemtype="https://schema.org/AggregateRating">'
        f'<span class="fieldline-rating__score" itemprop="ratingValue">{rating.csat_mean:.1f}</span>'
        '<span class="fieldline-rating__scale"> / <span itemprop="bestRating">5</span></span> '
        f'<span class="fieldline-rating__count">(<span itemprop="ratingCount">{rating.count}</span> '
        f'verified {"review" if rating.count == 1 else "reviews"})</span> {nps}'
        '</div>\n'
    )
