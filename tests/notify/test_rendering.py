"""Every routed template renders in Russian and English: subject, plain text and escaped HTML."""

from __future__ import annotations

import uuid

import pytest

from services.notify.adapters.rendering import MessageTemplates, with_language
from services.notify.domain.audience import Audience
from services.notify.domain.customer_webhook import customer_message_facts
from services.notify.domain.preferences import LANGUAGES
from services.notify.domain.routing import MESSAGE_ROUTES

REQUEST = str(uuid.UUID("8bd5ea67-0000-4000-8000-000000000001"))
COMMON = {
    "request_id": REQUEST,
    "customer_id": str(uuid.uuid4()),
    "technician_id": str(uuid.uuid4()),
    "assignment_id": str(uuid.uuid4()),
    "contract_id": str(uuid.uuid4()),
}

# the fields each template reads (beyond COMMON): for the events awaiting their producers, this is the ask
FACTS: dict[str, dict[str, object]] = {
    "request_received": {"kind": "emergency", "priority": "P1", "response_due": "2026-11-28T10:00:00Z"},
    "request_cancelled": {},
    "technician_assigned": {"technician_first_name": "Anna", "eta": "2026-11-28T10:00:00Z"},
    "eta_changed": {"eta": "2026-11-28T10:45:00Z", "previous_eta": "2026-11-28T10:00:00Z"},
    "technician_on_the_way": {"eta": "2026-11-28T10:00:00Z"},
    "job_completed": {"outcome": "compressor relay replaced"},
    "visit_cancelled": {},
    "new_assignment": {
        "planned_start": "2026-11-28T10:00:00Z",
        "planned_end": "2026-11-28T11:00:00Z",
        "request_kind": "emergency",
    },
    "assignment_cancelled": {},
    "request_unplaceable": {"reason": "nobody certified for gas on shift", "best_option": "Ivan, 3 h late"},
    "dead_letter": {
        "service": "notify",
        "subject": "fieldline.dispatch.x.v1",
        "consumer": "notify-x",
        "deliveries": 6,
        "reason": "schema: bad",
    },
    "survey_invitation": {
        "link": "https://fieldline.local/surveys/abc?token=t",
        "expires_at": "2026-12-12T10:00:00Z",
        "contact_name": "Olga",
        "technician_first_name": "Anna",
    },
    "sla_at_risk": {
        "response_due": "2026-11-28T10:00:00Z",
        "predicted_arrival": "2026-11-28T10:40:00Z",
        "reason": "traffic",
        "best_option": None,
    },
    "assignment_changed": {"planned_start": "2026-11-28T12:00:00Z", "reason": "earlier job overran"},
    "route_changed": {"day": "2026-11-28", "reason": "Ivan is ill"},
    "contract_ending_soon": {"ends_on": "2026-12-31", "days_left": 33},
    "visits_overdue": {"overdue_count": 2, "oldest_due_on": "2026-11-01"},
}


@pytest.fixture(scope="module")
def templates() -> MessageTemplates:
    return MessageTemplates("https://fieldline.local")


def test_every_routed_template_has_sample_facts() -> None:
    assert {r.template for r in MESSAGE_ROUTES} == set(FACTS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(FACTS))
def test_template_renders(templates: MessageTemplates, template: str, language: str) -> None:
    message = templates.render(template, language, {**COMMON, **FACTS[template]}, "Europe/Simferopol")
    assert message.subject and "\n" not in message.subject
    assert message.text.strip()
    assert f'<html lang="{language}">' in message.html
    assert message.subject.replace("&", "&amp;") in message.html or "&#" in message.html
    cyrillic = any("\u0430" <= ch <= "\u044f" for ch in message.subject.lower())
    assert cyrillic == (language == "ru")


def test_times_are_local_to_the_recipient_and_formatted_per_language(templates: MessageTemplates) -> None:
    facts = {**COMMON, **FACTS["technician_assigned"]}
    ru = templates.render("technician_assigned", "ru", facts, "Europe/Simferopol")
    en = templates.render("technician_assigned", "en", facts, "Asia/Vladivostok")
    assert "28.11.2026 13:00" in ru.text  # UTC+3
    assert "28 Nov 2026, 20:00" in en.text  # UTC+10
    assert "https://fieldline.local/requests/" + REQUEST in ru.text


def test_html_escapes_what_came_from_events(templates: MessageTemplates) -> None:
    facts = {**COMMON, "technician_first_name": "<script>x</script>", "eta": "2026-11-28T10:00:00Z"}
    message = templates.render("technician_assigned", "en", facts, "Europe/Simferopol")
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<script>x</script>" in message.text  # plain text is not HTML


def test_a_missing_fact_is_an_error_not_a_blank(templates: MessageTemplates) -> None:
    with pytest.raises(Exception, match="technician_first_name"):
        templates.render("technician_assigned", "en", {**COMMON, "eta": "2026-11-28T10:00:00Z"}, "Europe/Simferopol")


def test_the_survey_link_opens_the_page_in_the_language_of_the_message(templates: MessageTemplates) -> None:
    facts = {**COMMON, **FACTS["survey_invitation"], "link": "https://fieldline.local/surveys/t0k.en"}
    ru = templates.render("survey_invitation", "ru", facts, "Europe/Simferopol")
    en = templates.render("survey_invitation", "en", facts, "Europe/Simferopol")
    assert ru.text.rstrip().endswith(" https://fieldline.local/surveys/t0k.en?lang=ru")
    assert en.text.rstrip().endswith(" https://fieldline.local/surveys/t0k.en?lang=en")
    assert 'href="https://fieldline.local/surveys/t0k.en?lang=en"' in en.html


def test_lang_is_appended_to_any_link_without_disturbing_the_rest() -> None:
    assert with_language("https://x.example/s/abc", "en") == "https://x.example/s/abc?lang=en"
    assert with_language("https://x.example/s?token=a%2Bb=", "ru") == "https://x.example/s?token=a%2Bb=&lang=ru"
    assert with_language("https://x.example/s?", "en") == "https://x.example/s?lang=en"
    assert with_language("https://x.example/s?lang=ru&t=1", "en") == "https://x.example/s?t=1&lang=en"
    assert with_language("https://x.example/s?t=1#top", "en") == "https://x.example/s?t=1&lang=en#top"
    assert with_language("https://x.example/s?language=x", "en") == "https://x.example/s?language=x&lang=en"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_cancellation_mail_carries_no_free_text_from_the_customer(templates: MessageTemplates, language: str) -> None:
    # every contact of the customer gets it: the reason someone typed must not be relayed to them (issue 16)
    facts = {**COMMON, "reason": "call Oleg on +380 65 555 0142, http://spam.example"}
    message = templates.render("request_cancelled", language, facts, "Europe/Simferopol")
    for part in (message.subject, message.text, message.html):
        assert "Oleg" not in part and "spam.example" not in part


INTERNAL = {
    "reason": "Oleg is off sick; moved behind Kerch, Lenina 5",
    "notes": "internal: the manager asked for a discount",
    "best_option": "Ivan, 3 h late",
    "suspect": "on site 8 s after en route from 60 km",
    "position": {"lat": 44.95, "lon": 34.1},
    "previous_technician_id": str(uuid.uuid4()),
}
CUSTOMER_TEMPLATES = sorted({r.template for r in MESSAGE_ROUTES if r.audience is Audience.CUSTOMER})


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", CUSTOMER_TEMPLATES)
def test_a_customers_message_is_worded_from_its_allow_list_alone(
    templates: MessageTemplates, template: str, language: str
) -> None:
    """The allow-list holds every fact a customer template names (the message is the same without the rest), and
    nothing internal of the event reaches the wording."""
    facts = {**COMMON, **FACTS[template], **INTERNAL}
    allowed = customer_message_facts(facts)
    assert templates.render(template, language, allowed, "Europe/Simferopol") == templates.render(
        template, language, {**COMMON, **FACTS[template]}, "Europe/Simferopol"
    )
    assert not set(allowed) & {*INTERNAL, "technician_id", "assignment_id", "customer_id", "contract_id"}
