"""A country's public holidays, to pre-fill a contract's SLA calendar (the manager edits them afterwards)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import holidays

from shared.errors import InvalidInput

# the library's language codes for the workspace's two languages
_LANGUAGES = {"ru": "ru", "en": "en_US"}


@dataclass(frozen=True)
class PublicHoliday:
    on: date
    name: str


def public_holidays(country: str, year: int, language: str) -> list[PublicHoliday]:
    """The country's public holidays of `year` from the maintained `holidays` package, named in `language`."""
    code = country.upper()
    if code not in holidays.list_supported_countries():
        raise InvalidInput("country", "not a country the holidays library knows (ISO 3166-1 alpha-2)")
    wanted = _LANGUAGES.get(language, "en_US")
    localized = holidays.list_localized_countries().get(code, [])
    found = holidays.country_holidays(code, years=year, language=wanted if wanted in localized else None)
    return [PublicHoliday(on, name) for on, name in sorted(found.items())]
