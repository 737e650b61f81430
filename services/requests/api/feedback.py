"""HTTP API of surveys (signed links without login, or the customer's own session) and the public rating."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Form, Header, Query, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from services.requests.api.deps import CurrentPrincipal, Links, Now, Pages, ServiceSettings, Transactions, UnitOfWork
from services.requests.api.schemas import RatingOut, SurveyAnswerIn, SurveyOut
from services.requests.domain.language import Language, choose_language
from services.requests.domain.records import SurveyRecord
from services.requests.domain.surveys import SurveyAlreadyAnswered, SurveyAnswer, answer_from_form
from services.requests.usecases.surveys import (
    answer_as_customer,
    answer_by_link,
    survey_by_link,
    survey_of_request,
    verified_rating,
)
from shared.errors import DomainError, InvalidInput
from shared.ratelimit import per_ip, per_principal_and_ip

router = APIRouter(tags=["surveys"])


def _survey_out(survey: SurveyRecord, technician_first_name: str | None) -> SurveyOut:
    return SurveyOut.model_validate(
        {**asdict(survey), "technician_first_name": technician_first_name, "answered": survey.answered_at is not None}
    )


def _answer(body: SurveyAnswerIn) -> SurveyAnswer:
    return SurveyAnswer(csat=body.csat, nps=body.nps, comment=body.comment)


def _page(body: str, language: Language, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    # the page depends on these request headers: caches must key on them
    return HTMLResponse(
        body, status_code=status_code, headers={"Content-Language": language, "Vary": "Accept, Accept-Language"}
    )


def _form_action(token: str, language: Language) -> str:
    """The form posts back in the language it was shown in, whatever the browser sends then."""
    return f"/surveys/{token}/form?lang={language}"


LANG_QUERY = Query(None, description="the page's language (ru, en); default: Accept-Language, else ru")
RATING_LANG_QUERY = Query(
    None, description="the HTML snippet's language (ru, en); default: Accept-Language, else ru; JSON ignores it"
)


@router.get(
    "/surveys/{token}",
    response_model=SurveyOut,
    summary="The survey a signed link opens (no login)",
    responses={200: {"content": {"text/html": {}}}},
)
async def open_survey(
    token: str,
    session: UnitOfWork,
    links: Links,
    pages: Pages,
    accept: str = Header("application/json"),
    lang: str | None = LANG_QUERY,
    accept_language: str | None = Header(None),
) -> Response | SurveyOut:
    if "text/html" not in accept:
        survey, first_name = await survey_by_link(session, links, token)
        return _survey_out(survey, first_name)
    # the link opened in a browser: the form itself, in the customer's language
    language = choose_language(lang, accept_language)
    try:
        survey, first_name = await survey_by_link(session, links, token)
    except DomainError as exc:
        return _page(pages.failure(language, exc, opening=True), language, exc.status)
    if survey.answered_at is not None:
        return _page(pages.already_rated(language), language)
    return _page(
        pages.form(
            language,
            action=_form_action(token, language),
            technician_first_name=first_name,
            completed_at=survey.completed_at,
        ),
        language,
    )


@router.post(
    "/surveys/{token}",
    dependencies=[Depends(per_ip("survey-answer"))],
    response_model=SurveyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Answer through a signed link (no login); once only",
)
async def answer_with_link(token: str, body: SurveyAnswerIn, session: UnitOfWork, links: Links, now: Now) -> SurveyOut:
    survey, first_name = await answer_by_link(session, links, token, _answer(body), now)
    return _survey_out(survey, first_name)


@router.post(
    "/surveys/{token}/form",
    dependencies=[Depends(per_ip("survey-answer"))],
    response_class=HTMLResponse,
    status_code=status.HTTP_201_CREATED,
    summary="The browser form's answer (no login, no JavaScript); once only",
)
async def answer_with_form(
    token: str,
    db: Transactions,
    links: Links,
    pages: Pages,
    now: Now,
    csat: str | None = Form(None),
    nps: str | None = Form(None),
    comment: str = Form(""),
    lang: str | None = LANG_QUERY,
    accept_language: str | None = Header(None),
) -> HTMLResponse:
    language = choose_language(lang, accept_language)
    # two units of work: a refused answer rolls back its own, and the form is shown again from a fresh read
    try:
        async with db.transaction() as session:
            await answer_by_link(session, links, token, answer_from_form(csat, nps, comment), now)
    except InvalidInput as exc:  # a person reads this: the form again, with what to correct and what they chose
        try:
            async with db.transaction() as session:
                survey, first_name = await survey_by_link(session, links, token)
        except DomainError as lost:
            return _page(pages.failure(language, lost), language, lost.status)
        if survey.answered_at is not None:
            return _page(pages.failure(language, SurveyAlreadyAnswered()), language, status.HTTP_409_CONFLICT)
        return _page(
            pages.form(
                language,
                action=_form_action(token, language),
                technician_first_name=first_name,
                completed_at=survey.completed_at,
                error=pages.error_text(exc, language),
                csat=_int_or_none(csat),
                nps=_int_or_none(nps),
                comment=comment,
            ),
            language,
            exc.status,
        )
    except DomainError as exc:  # a page, not problem+json
        return _page(pages.failure(language, exc), language, exc.status)
    return _page(pages.thanks(language), language, status.HTTP_201_CREATED)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@router.get("/requests/{request_id}/survey", response_model=SurveyOut)
async def get_request_survey(request_id: uuid.UUID, session: UnitOfWork, principal: CurrentPrincipal) -> SurveyOut:
    survey, first_name = await survey_of_request(session, principal, request_id)
    return _survey_out(survey, first_name)


@router.post(
    "/requests/{request_id}/survey",
    dependencies=[Depends(per_principal_and_ip("survey-answer"))],
    response_model=SurveyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Answer as the job's customer; once only",
)
async def answer_request_survey(
    request_id: uuid.UUID, body: SurveyAnswerIn, session: UnitOfWork, principal: CurrentPrincipal, now: Now
) -> SurveyOut:
    survey, first_name = await answer_as_customer(session, principal, request_id, _answer(body), now)
    return _survey_out(survey, first_name)


@router.get(
    "/rating.{representation}",
    dependencies=[Depends(per_ip("rating"))],
    response_model=RatingOut,
    tags=["rating"],
    summary="The company's verified rating (public, cacheable): JSON, or an embeddable HTML snippet",
    responses={200: {"content": {"text/html": {}}}, 304: {"description": "Not modified"}},
)
async def public_rating(
    representation: Literal["json", "html"],
    session: UnitOfWork,
    settings: ServiceSettings,
    pages: Pages,
    now: Now,
    if_none_match: str | None = Header(None, alias="If-None-Match"),
    lang: str | None = RATING_LANG_QUERY,
    accept_language: str | None = Header(None),
) -> Response:
    # JSON is language-neutral; the snippet is read by people (an unknown lang is refused before any work)
    language = choose_language(lang, accept_language) if representation == "html" else None
    rating = await verified_rating(session, settings.rating_window_days, now)
    since = (now - timedelta(days=settings.rating_window_days)).date()
    out = RatingOut(
        count=rating.count,
        csat_mean=rating.csat_mean,
        nps=rating.nps,
        nps_count=rating.nps_count,
        window_days=settings.rating_window_days,
        since=since,
    )
    body = out.model_dump_json() if language is None else pages.rating_snippet(language, rating)
    # a hash of the body itself: the ru and en snippets differ, so do their tags
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={settings.rating_cache_max_age_s}",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }
    if language is not None:
        headers |= {"Content-Language": language, "Vary": "Accept-Encoding, Accept-Language"}
    if if_none_match and etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if representation == "json":
        return JSONResponse(out.model_dump(mode="json"), headers=headers)
    return HTMLResponse(body, headers=headers)
