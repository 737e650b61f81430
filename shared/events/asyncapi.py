"""The AsyncAPI 3.0 document of every Fieldline event: `python -m shared.events.asyncapi > docs/asyncapi.json`.

Pydantic writes each payload's JSON Schema; this module only places them into the AsyncAPI layout.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.events.envelope import Envelope, stream_name
from shared.events.registry import EVENT_TYPES


def _key(subject: str) -> str:
    return subject.removeprefix("fieldline.").replace(".", "_")


def asyncapi_document() -> dict[str, Any]:
    mode: Literal["validation"] = "validation"
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [(m, mode) for m in EVENT_TYPES.values()]
    models.append((Envelope, mode))
    keyed, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for subject, model in EVENT_TYPES.items():
        key = _key(subject)
        data_ref = keyed[(model, "validation")]
        messages[key] = {
            "name": subject,
            "title": model.__name__,
            "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "format": "uuid", "description": "equals event_id"},
                    "X-Correlation-Id": {"type": "string"},
                    "traceparent": {
                        "type": "string",
                        "description": "W3C Trace Context of the event's writer, when tracing is on",
                    },
                    "tracestate": {"type": "string", "description": "W3C Trace Context vendor state"},
                },
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {"type": "object", "properties": {"type": {"const": subject}, "data": data_ref}},
                ]
            },
        }
        channels[key] = {
            "address": subject,
            "description": f"In stream {stream_name(model.producer)}.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"{model.producer} publishes {model.__name__} through its transactional outbox",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Fieldline events",
            "version": "1.0.0",
            "description": "Events between Fieldline services over NATS JetStream: one stream per producer, "
            "subjects fieldline.<producer>.<entity>.<event>.v<major>, at-least-once delivery, "
            "consumers deduplicate by event_id.",
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def main() -> None:
    json.dump(asyncapi_document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
