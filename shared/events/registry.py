"""Every event schema by subject, so consumers parse and the AsyncAPI export lists them."""

from __future__ import annotations

from shared.events import contracts, dead_letters, dispatch, notify, requests
from shared.events.envelope import Envelope, Event

PRODUCERS = ("contracts", "requests", "dispatch", "notify")

EVENT_TYPES: dict[str, type[Event]] = {
    model.subject: model for module in (contracts, requests, dispatch, notify, dead_letters) for model in module.EVENTS
}


class UnknownEventType(ValueError):
    pass


def parse_data(envelope: Envelope) -> Event:
    """The typed data of an envelope; raises UnknownEventType or pydantic.ValidationError."""
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        raise UnknownEventType(envelope.type)
    return model.model_validate(envelope.data)
