"""The language a person is shown a page in: what they asked for, else what their browser prefers, else Russian.

Notify, which knows each recipient's preference, writes in the same two languages; this service knows no
preference, so an explicit `lang` (e.g. in a survey link) stands in for it.
"""

from __future__ import annotations

from typing import Literal

from babel import Locale

from shared.errors import InvalidInput

Language = Literal["ru", "en"]
# which form of a counted noun a number takes (CLDR cardinal categories; English's "other" is "many" here)
PluralForm = Literal["one", "few", "many"]
LANGUAGES: tuple[Language, ...] = ("ru", "en")
# the reference customers are Russian-speaking; notify's recipients default to Russian as well
DEFAULT_LANGUAGE: Language = "ru"


def _primary(tag: str) -> str:
    """`en-GB` -> `en`: our texts differ by language, not by region."""
    return tag.strip().lower().split("-")[0]


def explicit_language(value: str) -> Language:
    language = _primary(value)
    if language not in LANGUAGES:
        raise InvalidInput("lang", "one of: " + ", ".join(LANGUAGES))
    return language


def preferred_language(accept_language: str | None) -> Language | None:
    """The supported language an Accept-Language header (RFC 9110) ranks highest; None when it names none."""
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate((accept_language or "").split(",")):
        tag, *params = item.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # a malformed weight: ignore the entry rather than refuse the page
        language = _primary(tag)
        if quality <= 0 or language not in LANGUAGES:
            continue
        # the highest weight wins; between equal weights, the one listed first
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, language)
    return best[2] if best else None


def plural_form(language: Language, count: int) -> PluralForm:
    """1 review, 2 reviews; 1 отзыв, 2 отзыва, 5 отзывов, 11 отзывов, 21 отзыв: CLDR's rules, from Babel."""
    form = Locale.parse(language).plural_form(count)
    # CLDR's "many" and "other" (English's only plural) read the same in our texts
    return "one" if form == "one" else "few" if form == "few" else "many"


def choose_language(explicit: str | None, accept_language: str | None) -> Language:
    """`lang` when given (an unsupported one is refused), else Accept-Language, else the default."""
    if explicit:
        return explicit_language(explicit)
    return preferred_language(accept_language) or DEFAULT_LANGUAGE
