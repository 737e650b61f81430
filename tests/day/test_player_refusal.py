"""The simulated day's refusals are counted by kind: ids left out of the path and the detail, so one line stands for
every booking refused for the same reason (pure, no server)."""

from __future__ import annotations

import uuid

import httpx

from bench.day.player import refusal


def test_a_refusal_names_its_path_and_reason_without_the_ids() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    lines = {
        refusal(
            "POST",
            f"http://127.0.0.1:8003/me/assignments/{a}/status?x=1",
            httpx.Response(409, json={"detail": f"assignment {a} is completed: no step follows"}),
        )
        for a in (first, second)
    }
    assert lines == {"POST /me/assignments/{id}/status -> 409: assignment {id} is completed: no step follows"}


def test_a_refusal_without_a_problem_body_keeps_its_text() -> None:
    line = refusal("GET", "http://127.0.0.1:8003/me/day", httpx.Response(502, text="Bad Gateway"))
    assert line == "GET /me/day -> 502: Bad Gateway"
