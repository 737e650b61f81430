"""HTTP API of surveys (signed links without login, or the customer's own session) and the public rating."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse

from services.requests.api.routes import runtime_db, service_clock, service_settings
from services.requests.api.schemas import RatingOut, SurveyAnswerIn, SurveyOut
from services.requests.domain.language import Language, choose_language
from services.requests.domain.surveys import SurveyAlreadyAnswered, SurveyAnswer, answer_from_form
from services.requests.survey_links import SurveyLinks
from services.requests.survey_page import SurveyPages
from services.requests.surveys import (
    answer_as_customer,
    answer_by_link,
    survey_by_link,
    survey_of_request,
    verified_rating,
)
from shared.auth import Principal, current_principal
from shared.errors import DomainError, InvalidInput

router = APIRouter(tags=["surveys"])


def _links(request: Request) -> SurveyLinks:
    links: SurveyLinks = request.app.state.survey_links
    return links


def _survey_out(survey: dict[str, Any], technician_first_name: str | None) -> SurveyOut:
    return SurveyOut.model_validate({**survey, "technician_first_name": technician_first_name,
                                     "answered": survey["answered_at"] is not None})


def _answer(body: SurveyAnswerIn) -> SurveyAnswer:
    return SurveyAnswer(csat=body.csat, nps=body.nps, comment=body.comment)


def _pages(request: Request) -> SurveyPages:
    pages: SurveyPages = request.app.state.survey_pages
    return pages


def _page(body: str, language: Language, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    # the page depends on these request headers: caches must key on them
    return HTMLResponse(body, status_code=status_code,
                        headers={"Content-Language": language, "Vary": "Accept, Accept-Language"})


def _form_action(token: str, language: Language) -> str:
    """The form posts back in the language it was shown in, whatever the browser sends then."""
    return f"/surveys/{token}/form?lang={language}"


LANG_QUERY = Query(None, description="the page's language (ru, en); default: Accept-Language, else ru")
RATING_LANG_QUERY = Query(None, description="the HTML snippet's language (ru, en); default: Accept-Language, "
                                            "else ru; JSON ignores it")


@router.get("/surveys/{token}", response_model=SurveyOut, summary="The survey a signed link opens (no login)",
            responses={200: {"content": {"text/html": {}}}})
async def open_survey(token: str, request: Request, accept: str = Header("application/json"),
                      lang: str | None = LANG_QUERY,
                      accept_language: str | None = Header(None)) -> Response | SurveyOut:
    if "text/html" not in accept:
        survey, first_name = await survey_by_link(runtime_db(request), _links(request), token)
        return _survey_out(survey, first_name)
    # the link opened in a browser: the form itself, in the customer's language
    language = choose_language(lang, accept_language)
    try:
        survey, first_name = await survey_by_link(runtime_db(request), _links(request), token)
    except DomainError as exc:
        return _page(_pages(request).failure(language, exc, opening=True), language, exc.status)
    if survey["answered_at"] is not None:
        return _page(_pages(request).already_rated(language), language)
    return _page(_pages(request).form(language, action=_form_action(token, language), technician_first_name=first_name,
                                      completed_at=survey["completed_at"]), language)


@router.post("/surveys/{token}", response_model=SurveyOut, status_code=status.HTTP_201_CREATED,
             summary="Answer through a signed link (no login); once only")
async def answer_with_link(token: str, body: SurveyAnswerIn, request: Request) -> SurveyOut:
    survey = await answer_by_link(runtime_db(request), _links(request), token, _answer(body),
                                  service_clock(request).now())
    return _survey_out(survey, None)


@router.post("/surveys/{token}/form", response_class=HTMLResponse, status_code=status.HTTP_201_CREATED,
             summary="The browser form's answer (no login, no JavaScript); once only")
async def answer_with_form(token: str, request: Request, csat: str | None = Form(None), nps: str | None = Form(None),
                           comment: str = Form(""), lang: str | None = LANG_QUERY,
                           accept_language: str | None = Header(None)) -> HTMLResponse:
    language = choose_language(lang, accept_language)
    pages = _pages(request)
    try:
        await answer_by_link(runtime_db(request), _links(request), token, answer_from_form(csat, nps, comment),
                             service_clock(request).now())
    except InvalidInput as exc:  # a person reads this: the form again, with what to correct and what they chose
        try:
            survey, first_name = await survey_by_link(runtime_db(request), _links(request), token)
        except DomainError as lost:
            return _page(pages.failure(language, lost), language, lost.status)
        if survey["answered_at"] is not None:
            return _page(pages.failure(language, SurveyAlreadyAnswered()), language, status.HTTP_409_CONFLICT)
        return _page(pages.form(language, action=_form_action(token, language), technician_first_name=first_name,
                                completed_at=survey["completed_at"], error=pages.error_text(exc, language),
                                csat=_int_or_none(csat), nps=_int_or_none(nps), comment=comment),
                     language, exc.status)
    except DomainError as exc:  # a page, not problem+json
        return _page(pages.failure(language, exc), language, exc.status)
    return _page(pages.thanks(language), language, status.HTTP_201_CREATED)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@router.get("/requests/{request_id}/survey", response_model=SurveyOut)
async def get_request_survey(request_id: uuid.UUID, request: Request,
                             principal: Principal = Depends(current_principal)) -> SurveyOut:
    survey, first_name = await survey_of_request(runtime_db(request), principal, request_id)
    return _survey_out(survey, first_name)


@router.post("/requests/{request_id}/survey", response_model=SurveyOut, status_code=status.HTTP_201_CREATED,
             summary="Answer as the job's customer; once only")
async def answer_request_survey(request_id: uuid.UUID, body: SurveyAnswerIn, request: Request,
                                principal: Principal = Depends(current_principal)) -> SurveyOut:
    survey = await answer_as_customer(runtime_db(request), principal, request_id, _answer(body),
                                      service_clock(request).now())
    return _survey_out(survey, None)


@router.get("/rating.{representation}", response_model=RatingOut, tags=["rating"],
            summary="The company's verified rating (public, cacheable): JSON, or an embeddable HTML snippet",
            responses={200: {"content": {"text/html": {}}}, 304: {"description": "Not modified"}})
async def public_rating(representation: Literal["json", "html"], request: Request,
                        if_none_match: str | None = Header(None, alias="If-None-Match"),
                        lang: str | None = RATING_LANG_QUERY, accept_language: str | None = Header(None)) -> Response:
    settings = service_settings(request)
    # JSON is language-neutral; the snippet is read by people (an unknown lang is refused before any work)
    language = choose_language(lang, accept_language) if representation == "html" else None
    now = service_clock(request).now()
    rating = await verified_rating(runtime_db(request), settings.rating_window_days, now)
    since = (now - timedelta(days=settings.rating_window_days)).date()
    out = RatingOut(count=rating.count, csat_mean=rating.csat_mean, nps=rating.nps, nps_count=rating.nps_count,
                    window_days=settings.rating_window_days, since=since)
    body = out.model_dump_json() if language is None else _pages(request).rating_snippet(language, rating)
    # a hash of the body itself: the ru and en snippets differ, so do their tags
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={settings.rating_cache_max_age_s}",
               "Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding"}
    if language is not None:
        headers |= {"Content-Language": language, "Vary": "Accept-Encoding, Accept-Language"}
    if if_none_match and etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if representation == "json":
        return JSONResponse(out.model_dump(mode="json"), headers=headers)
    return HTMLResponse(body, headers=headers)

