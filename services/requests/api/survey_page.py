"""The survey as a web page (no login, no JavaScript) in the customer's language: the form, thanks, and errors;
and the public rating as an embeddable HTML snippet in the reader's language.

Jinja2 templates (autoescaped) hold the markup; `survey_text.toml` beside them holds what they say, per
language. Problem+json
`detail` strings stay English for API clients; a person reading the page gets their own language.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.requests.domain.language import LANGUAGES, Language, plural_form
from services.requests.domain.surveys import (
    MAX_COMMENT_LENGTH,
    InvalidText,
    Rating,
    SurveyAlreadyAnswered,
    SurveyExpired,
)
from shared.errors import DomainError, InvalidInput, NotFound, Unauthorized

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class FormState:
    """What the form shows: where it posts, the question, and what the customer had chosen before an error."""

    action: str
    csat_question: str
    csat: int | None = None
    nps: int | None = None
    comment: str = ""
    comment_max: int = MAX_COMMENT_LENGTH


class SurveyPages:
    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        catalog = tomllib.loads((directory / "survey_text.toml").read_text(encoding="utf-8"))
        self.text: dict[Language, dict[str, str]] = {language: catalog[language] for language in LANGUAGES}

    def form(
        self,
        language: Language,
        *,
        action: str,
        technician_first_name: str | None,
        completed_at: datetime,
        error: str | None = None,
        csat: int | None = None,
        nps: int | None = None,
        comment: str = "",
    ) -> str:
        text = self.text[language]
        day = completed_at.strftime(text["date_format"])
        question = (
            text["csat_question_by"].format(name=technician_first_name, date=day)
            if technician_first_name
            else text["csat_question"].format(date=day)
        )
        state = FormState(action=action, csat_question=question, csat=csat, nps=nps, comment=comment)
        return self._render(language, text["title"], error=error, form=state)

    def thanks(self, language: Language) -> str:
        return self._render(language, self.text[language]["thanks_title"], paragraphs=[self.text[language]["thanks"]])

    def already_rated(self, language: Language) -> str:
        return self._render(
            language, self.text[language]["thanks_title"], paragraphs=[self.text[language]["already_rated"]]
        )

    def failure(self, language: Language, exc: DomainError, *, opening: bool = False) -> str:
        title = self.text[language]["unavailable_title" if opening else "failed_title"]
        return self._render(language, title, paragraphs=[self.error_text(exc, language)])

    def error_text(self, exc: DomainError, language: Language) -> str:
        """What went wrong, for a person: by the kind of error (and the field), never by parsing English details."""
        text = self.text[language]
        if isinstance(exc, SurveyAlreadyAnswered):
            return text["error_already_answered"]
        if isinstance(exc, SurveyExpired):
            return text["error_expired"]
        if isinstance(exc, Unauthorized):
            return text["error_invalid_link"]
        if isinstance(exc, NotFound):
            return text["error_not_found"]
        if isinstance(exc, InvalidText):
            return text["error_control_characters"]
        if isinstance(exc, InvalidInput) and exc.problems and "error_" + exc.problems[0].field in text:
            return text["error_" + exc.problems[0].field].format(max=MAX_COMMENT_LENGTH)
        return text["error_other"]

    def rating_snippet(self, language: Language, rating: Rating) -> str:
        """Self-contained markup with schema.org AggregateRating, for pasting into a company's site."""
        text = self.text[language]
        if rating.count == 0 or rating.csat_mean is None:
            return self.env.get_template("rating.html").render(language=language, text=text, count=None)
        # the phrase around the number, which the markup wraps for schema.org
        before, _, after = text["rating_count_" + plural_form(language, rating.count)].partition("{count}")
        # the score stays machine-readable (a decimal point) in every language: schema.org reads it
        return self.env.get_template("rating.html").render(
            language=language,
            text=text,
            count=rating.count,
            before=before,
            after=after,
            score=f"{rating.csat_mean:.1f}",
            nps=f"{rating.nps:+.0f}" if rating.nps is not None else None,
        )

    def _render(
        self,
        language: Language,
        title: str,
        *,
        error: str | None = None,
        paragraphs: list[str] | None = None,
        form: FormState | None = None,
    ) -> str:
        return self.env.get_template("survey.html").render(
            language=language,
            title=title,
            error=error,
            paragraphs=paragraphs or [],
            form=form,
            text=self.text[language],
        )
