"""The survey page a customer opens from the link, and the public rating snippet, in the reader's language:
`lang`, else Accept-Language, else Russian."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from services.requests.api.survey_page import SurveyPages
from services.requests.domain.language import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    choose_language,
    plural_form,
    preferred_language,
)
from services.requests.domain.surveys import Rating
from shared.errors import InvalidInput
from tests.requests.conftest import RequestsService
from tests.requests.test_surveys import _completed_job

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

HTML = "text/html,application/xhtml+xml"


def _declares(page: httpx.Response, language: str) -> None:
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["Content-Language"] == language
    assert "Accept-Language" in page.headers["Vary"]
    assert f'<html lang="{language}">' in page.text


async def _survey_path(service: RequestsService) -> str:
    _, invitation = await _completed_job(service, uuid.uuid4())
    return "/surveys/" + invitation["token"]


async def test_the_page_is_russian_for_a_russian_browser(service: RequestsService) -> None:
    path = await _survey_path(service)
    page = await service.client.get(path, headers={"Accept": HTML, "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    assert page.status_code == 200
    _declares(page, "ru")
    assert "Оцените нашу работу" in page.text and "визитом техника Anna" in page.text
    assert "Rate our service" not in page.text and "How likely" not in page.text
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None and action.group(1) == f"{path}/form?lang=ru"

    # a mistake comes back as the same form, in Russian, with the comment kept
    wrong = await service.client.post(action.group(1), data={"csat": "9", "comment": "Быстро"})
    assert wrong.status_code == 422
    _declares(wrong, "ru")
    assert "выберите оценку от 1 до 5" in wrong.text and ">Быстро</textarea>" in wrong.text
    missing = await service.client.post(action.group(1), data={"nps": "7"})
    assert missing.status_code == 422 and "выберите оценку от 1 до 5" in missing.text
    assert 'value="7" checked' in missing.text
    not_a_number = await service.client.post(action.group(1), data={"csat": "3", "nps": "ten"})
    assert not_a_number.status_code == 422 and "Оценка рекомендации — число от 0 до 10" in not_a_number.text

    sent = await service.client.post(action.group(1), data={"csat": "4", "nps": "9", "comment": "Быстро"})
    assert sent.status_code == 201
    _declares(sent, "ru")
    assert "Спасибо!" in sent.text
    again = await service.client.post(action.group(1), data={"csat": "1"})
    assert again.status_code == 409 and "этот опрос уже ответили" in again.text
    rated = await service.client.get(path, headers={"Accept": HTML, "Accept-Language": "ru"})
    assert "Эта работа уже оценена" in rated.text


async def test_lang_en_wins_over_the_browser(service: RequestsService) -> None:
    path = await _survey_path(service)
    page = await service.client.get(f"{path}?lang=en", headers={"Accept": HTML, "Accept-Language": "ru"})
    assert page.status_code == 200
    _declares(page, "en")
    assert "Rate our service" in page.text and "by Anna" in page.text and "Оцените" not in page.text
    # the form posts back in English even though the browser still prefers Russian
    sent = await service.client.post(f"{path}/form?lang=en", headers={"Accept-Language": "ru"}, data={"csat": "5"})
    assert sent.status_code == 201 and "Thank you!" in sent.text
    _declares(sent, "en")


@pytest.mark.parametrize("accept_language", [None, "de-DE,fr;q=0.7", "en;q=0"])
async def test_the_default_language_otherwise(service: RequestsService, accept_language: str | None) -> None:
    path = await _survey_path(service)
    headers = {"Accept": HTML} | ({"Accept-Language": accept_language} if accept_language else {})
    page = await service.client.get(path, headers=headers)
    assert page.status_code == 200
    _declares(page, DEFAULT_LANGUAGE)
    assert DEFAULT_LANGUAGE == "ru" and "Оцените нашу работу" in page.text


async def test_a_broken_link_is_explained_in_the_customers_language(service: RequestsService) -> None:
    path = await _survey_path(service)
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    page = await service.client.get(forged, headers={"Accept": HTML, "Accept-Language": "ru"})
    assert page.status_code == 401
    _declares(page, "ru")
    assert "Ссылка на опрос недействительна" in page.text
    sent = await service.client.post(f"{forged}/form?lang=en", data={"csat": "5"})
    assert sent.status_code == 401 and "survey link is invalid" in sent.text
    # API clients still get problem+json, in English
    api = await service.client.get(forged)
    assert api.status_code == 401 and api.headers["content-type"].startswith("application/problem+json")


async def test_an_unknown_lang_is_refused_naming_the_field(service: RequestsService) -> None:
    path = await _survey_path(service)
    refused = await service.client.get(f"{path}?lang=de", headers={"Accept": HTML})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "lang", "reason": "one of: ru, en"}]


def test_accept_language_weights_decide() -> None:
    assert preferred_language("en;q=0.5, ru;q=0.8") == "ru"
    assert preferred_language("EN-gb, ru") == "en"  # equal weights: the first listed
    assert preferred_language("ru;q=0, en;q=0.1") == "en"  # q=0 means "not this one"
    assert preferred_language("de, *") is None
    assert preferred_language("ru;q=abc, en;q=0.2") == "en"
    assert preferred_language(None) is None
    assert choose_language("EN", "ru") == "en" and choose_language(None, "fr") == DEFAULT_LANGUAGE
    with pytest.raises(InvalidInput):
        choose_language("de", "ru")


def test_every_language_has_every_text() -> None:
    text = SurveyPages().text
    assert set(text) == set(LANGUAGES)
    assert set(text["ru"]) == set(text["en"])


async def test_the_rating_snippet_speaks_the_readers_language_and_tags_each_language_apart(
    service: RequestsService,
) -> None:
    _, invitation = await _completed_job(service, uuid.uuid4())
    assert (await service.client.post("/surveys/" + invitation["token"], json={"csat": 4})).status_code == 201

    ru = await service.client.get("/rating.html", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    en = await service.client.get("/rating.html", headers={"Accept-Language": "en-GB,en;q=0.9,ru;q=0.5"})
    assert ru.status_code == en.status_code == 200
    count = (await service.client.get("/rating.json")).json()["count"]
    for snippet, language in ((ru, "ru"), (en, "en")):
        assert snippet.headers["content-type"].startswith("text/html")
        assert snippet.headers["Content-Language"] == language
        assert "Accept-Language" in snippet.headers["Vary"]
        assert f'<div class="fieldline-rating" lang="{language}"' in snippet.text
        assert f'<span itemprop="ratingCount">{count}</span>' in snippet.text
    assert "проверенн" in ru.text and "verified" not in ru.text
    assert "verified review" in en.text and "проверенн" not in en.text
    # a cache holding the Russian snippet must not answer an English reader with it
    assert ru.headers["ETag"] != en.headers["ETag"]
    stale = await service.client.get("/rating.html?lang=en", headers={"If-None-Match": ru.headers["ETag"]})
    assert stale.status_code == 200 and stale.headers["ETag"] == en.headers["ETag"]
    fresh = await service.client.get(
        "/rating.html?lang=en", headers={"Accept-Language": "ru", "If-None-Match": en.headers["ETag"]}
    )
    assert fresh.status_code == 304 and fresh.headers["Content-Language"] == "en"
    # lang wins over the browser; nothing usable: Russian
    assert (await service.client.get("/rating.html?lang=ru", headers={"Accept-Language": "en"})).text == ru.text
    default = await service.client.get("/rating.html", headers={"Accept-Language": "de"})
    assert default.headers["Content-Language"] == DEFAULT_LANGUAGE and default.text == ru.text
    refused = await service.client.get("/rating.html?lang=de")
    assert refused.status_code == 422 and refused.json()["errors"] == [{"field": "lang", "reason": "one of: ru, en"}]


async def test_the_rating_json_is_the_same_in_every_language(service: RequestsService) -> None:
    ru = await service.client.get("/rating.json", headers={"Accept-Language": "ru"})
    en = await service.client.get("/rating.json?lang=en", headers={"Accept-Language": "en"})
    assert ru.status_code == en.status_code == 200
    assert ru.content == en.content and ru.headers["ETag"] == en.headers["ETag"]
    assert "Content-Language" not in ru.headers and "Accept-Language" not in ru.headers["Vary"]


def test_the_rating_snippet_counts_reviews_in_each_languages_grammar() -> None:
    pages = SurveyPages()
    assert [plural_form("ru", n) for n in (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 112)] == [
        "one",
        "few",
        "few",
        "many",
        "many",
        "many",
        "many",
        "one",
        "few",
        "many",
        "one",
        "many",
        "many",
    ]
    assert [plural_form("en", n) for n in (1, 2, 11, 21)] == ["one", "many", "many", "many"]
    for count, ru_phrase, en_phrase in (
        (1, "проверенный отзыв", "verified review)"),
        (3, "проверенных отзыва", "verified reviews"),
        (25, "проверенных отзывов", "verified reviews"),
    ):
        rating = Rating(count=count, csat_mean=4.5, nps=None, nps_count=0)
        assert f"{count}</span> {ru_phrase})" in pages.rating_snippet("ru", rating)
        assert f"{count}</span> {en_phrase}" in pages.rating_snippet("en", rating)
    nobody = Rating(count=0, csat_mean=None, nps=None, nps_count=0)
    assert "Пока нет проверенных оценок" in pages.rating_snippet("ru", nobody)
    assert "No verified ratings yet" in pages.rating_snippet("en", nobody)


async def test_the_survey_page_is_never_stored_never_framed_and_runs_nothing(service: RequestsService) -> None:
    path = await _survey_path(service)
    page = await service.client.get(path, headers={"Accept": HTML})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the link's token must not leak to other sites
