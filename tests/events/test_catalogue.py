"""Every event follows the subject convention and appears in the AsyncAPI document with its schema."""

from __future__ import annotations

import json
import re

import pytest

from shared.events.asyncapi import asyncapi_document
from shared.events.envelope import stream_subjects
from shared.events.registry import EVENT_TYPES, PRODUCERS
from shared.settings import REPO_ROOT

SUBJECT = re.compile(r"^fieldline\.(?P<producer>[a-z_]+)\.[a-z_]+\.[a-z_]+\.v[1-9][0-9]*$")


@pytest.mark.parametrize("subject", sorted(EVENT_TYPES))
def test_subject_names_its_producer_and_lands_in_its_stream(subject: str) -> None:
    match = SUBJECT.match(subject)
    assert match, f"{subject} breaks fieldline.<producer>.<entity>.<event>.v<major>"
    model = EVENT_TYPES[subject]
    assert match["producer"] == model.producer and model.producer in PRODUCERS
    pattern = stream_subjects(model.producer)[0].replace(".", r"\.").replace("*", "[^.]+")
    assert re.fullmatch(pattern, subject), f"{subject} is outside stream {stream_subjects(model.producer)}"


def test_asyncapi_lists_every_event_with_its_fields() -> None:
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(EVENT_TYPES)
    schemas = document["components"]["schemas"]
    for message in document["components"]["messages"].values():
        model = EVENT_TYPES[message["name"]]
        data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        schema = schemas[data_ref.rsplit("/", 1)[1]]
        assert set(schema["properties"]) == set(model.model_fields), message["name"]
    for operation in document["operations"].values():
        assert operation["channel"]["$ref"].removeprefix("#/channels/") in document["channels"]


def test_the_committed_asyncapi_document_is_current() -> None:
    committed = json.loads((REPO_ROOT / "docs" / "asyncapi.json").read_text())
    generated = json.loads(json.dumps(asyncapi_document()))
    assert committed == generated, "regenerate: python -m shared.events.asyncapi > docs/asyncapi.json"
