"""HTTP API of surveys (signed links without login, or the customer's own session) and the public rating."""

from __future__ import annotations

import hashlib
import html
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Header, Request, Response, status
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
from shared.errors import DomainError

router = APIRouter(tags=["surveys"])


def _links(request: Request) -> SurveyLinks:
    links: SurveyLinks = request.app.state.survey_links
    return links


def _survey_out(survey: dict[str, Any], technician_first_name: str | None) -> SurveyOut:
    return SurveyOut.model_validate({**survey, "technician_first_name": technician_first_name,
                                     "answered": survey["answered_at"] is not None})


def _answer(body: SurveyAnswerIn) -> SurveyAnswer:
    return SurveyAnswer(csat=body.csat, nps=body.nps, comment=body.comment)


@router.get("/surveys/{token}", response_model=SurveyOut, summary="The survey a signed link opens (no login)",
            responses={200: {"content": {"text/html": {}}}})
async def open_survey(token: str, request: Request, accept: str = Header("application/json")) -> Response | SurveyOut:
    survey, first_name = await survey_by_link(runtime_db(request), _links(request), token)
    out = _survey_out(survey, first_name)
    if "text/html" in accept:  # the link opened in a browser: the form itself
        return HTMLResponse(survey_page(out, f"/surveys/{token}/form"))
    return out


@router.post("/surveys/{token}", response_model=SurveyOut, status_code=status.HTTP_201_CREATED,
             summary="Answer through a signed link (no login); once only")
async def answer_with_link(token: str, body: SurveyAnswerIn, request: Request) -> SurveyOut:
    survey = await answer_by_link(runtime_db(request), _links(request), token, _answer(body))
    return _survey_out(survey, None)


@router.post("/surveys/{token}/form", response_class=HTMLResponse, status_code=status.HTTP_201_CREATED,
             summary="The browser form's answer (no login, no JavaScript); once only")
async def answer_with_form(token: str, request: Request, csat: int = Form(), nps: int | None = Form(None),
                           comment: str = Form("", max_length=2000)) -> HTMLResponse:
    try:
        await answer_by_link(runtime_db(request), _links(request), token, SurveyAnswer(csat, nps, comment))
    except DomainError as exc:  # a person reads this: a page, not problem+json
        return HTMLResponse(_page("We could not record your answer", html.escape(exc.detail)), status_code=exc.status)
    return HTMLResponse(_page("Thank you!", "Your rating helps us keep the service good."),
                        status_code=status.HTTP_201_CREATED)


def survey_page(survey: SurveyOut, action: str) -> str:
    if survey.answered:
        return _page("Thank you!", "This job has already been rated.")
    who = f" by {html.escape(survey.technician_first_name)}" if survey.technician_first_name else ""
    csat = "".join(f'<label><input type="radio" name="csat" value="{n}" required> {n}</label> ' for n in range(1, 6))
    nps = "".join(f'<label><input type="radio" name="nps" value="{n}"> {n}</label> ' for n in range(11))
    form = (
        f'<form method="post" action="{html.escape(action)}">'
        f"<p>How satisfied are you with the visit{who} on {survey.completed_at:%d.%m.%Y}?</p><p>{csat}</p>"
        f"<p>How likely are you to recommend us to a colleague?</p><p>{nps}</p>"
        '<p><label>Comment<br><textarea name="comment" maxlength="2000" rows="4" cols="50"></textarea></label></p>'
        '<p><button type="submit">Send</button></p></form>'
    )
    return _page("Rate our service", form)


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            f"<body><h1>{title}</h1>{body}</body></html>\n")


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
