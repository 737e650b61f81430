"""One e-mail address per field, strictly (issue 16): a comma, a semicolon, a display name or a second `@` must
never turn one field into several recipients. ASCII dot-atom local part (RFC 5322) and an LDH domain with a
dotted name; internationalised domains come in their punycode form (xn--)."""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP = re.compile(r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})")


def address_problem(value: str) -> str | None:
    """Why ``value`` is not exactly one plain address, or None when it is."""
    if len(value) > 254:
        return "at most 254 characters"
    if value.count("@") != 1:
        return "exactly one address, like name@example.com"
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _LOCAL.fullmatch(local):
        return "the part before @ may hold only letters, digits, dots and !#$%&'*+/=?^_`{|}~- (one address only)"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or not _TOP.fullmatch(labels[-1]):
        return "the part after @ must be a domain name like example.com"
    return None
