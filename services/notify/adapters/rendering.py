"""Messages from Jinja2 templates, per template and language: a subject, a plain-text body and HTML.

An adapter rather than domain/: the templates are files read from `services/notify/templates/`.

Each `templates/<language>/<template>.txt` has three blocks: `subject`, `body` and `action` (a link).
The HTML part is the shared `templates/layout.html` (autoescaped) around the same text, so the two
alternatives always say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context, select_autoescape
from jinja2.runtime import Context

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

_ACTION_LABEL = {"ru": "Открыть в Fieldline", "en": "Open in Fieldline"}
_TIME_FORMAT = {"ru": "%d.%m.%Y %H:%M", "en": "%d %b %Y, %H:%M"}


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str

    def as_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


@pass_context
def _local_time(context: Context, value: str | datetime | None) -> str:
    """An instant as wall-clock time in the recipient's zone, formatted for their language."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(ZoneInfo(context["time_zone"]))
    return local.strftime(_TIME_FORMAT.get(context["language"], _TIME_FORMAT["en"]))


def _short(value: object) -> str:
    """The first block of a UUID, which people read out on the phone."""
    return str(value).split("-")[0].upper()


class MessageTemplates:
    def __init__(self, public_base_url: str, directory: Path = TEMPLATES_DIR) -> None:
        self.base_url = public_base_url.rstrip("/")
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["local_time"] = _local_time
        self.env.filters["short"] = _short

    def exists(self, template: str, language: str) -> bool:
        return f"{language}/{template}.txt" in self.env.list_templates()

    def render(self, template: str, language: str, facts: Mapping[str, Any], time_zone: str) -> RenderedMessage:
        source = self.env.get_template(f"{language}/{template}.txt")
        context = source.new_context(
            {**self._links(facts, language), **facts, "language": language, "time_zone": time_zone}
        )
        subject = " ".join(_block(source, "subject", context).split())
        body = _block(source, "body", context).strip()
        action_url = _block(source, "action", context).strip()
        text = body + (f"\n\n{_ACTION_LABEL[language]}: {action_url}" if action_url else "") + "\n"
        paragraphs = [p.splitlines() for p in body.split("\n\n") if p.strip()]
        html = self.env.get_template("layout.html").render(
            language=language,
            subject=subject,
            paragraphs=paragraphs,
            action_url=action_url,
            action_label=_ACTION_LABEL[language],
        )
        return RenderedMessage(subject=subject, text=text, html=html)

    def _links(self, facts: Mapping[str, Any], language: str) -> dict[str, str]:
        links = {}
        if facts.get("link"):  # a survey invitation's signed link
            # requests' survey page reads `lang`: it opens in the language of the message
            links["survey_url"] = with_language(str(facts["link"]), language)
        if facts.get("request_id"):
            links["request_url"] = f"{self.base_url}/requests/{facts['request_id']}"
            links["dispatch_url"] = f"{self.base_url}/dispatch/requests/{facts['request_id']}"
        if facts.get("assignment_id"):
            links["assignment_url"] = f"{self.base_url}/technician/assignments/{facts['assignment_id']}"
        if facts.get("day"):
            links["route_url"] = f"{self.base_url}/technician/route/{facts['day']}"
        if facts.get("contract_id"):
            links["contract_url"] = f"{self.base_url}/contracts/{facts['contract_id']}"
        return links


def with_language(url: str, language: str) -> str:
    """`url` with `lang=<language>` as its last query parameter, replacing any `lang` it had; the rest untouched."""
    address, hash_mark, fragment = url.partition("#")
    path, _, query = address.partition("?")
    kept = [part for part in query.split("&") if part and part.split("=", 1)[0] != "lang"]
    return f"{path}?{'&'.join([*kept, f'lang={language}'])}{hash_mark}{fragment}"


def _block(template: Template, name: str, context: Context) -> str:
    return "".join(template.blocks[name](context)) if name in template.blocks else ""
