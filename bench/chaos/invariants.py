"""What must hold once the load has drained, read from the databases, the streams and the caught mail.

Each invariant is a count (target 0 unless it is only reported) with up to a few ids as evidence and the query
that finds them, so a failure can be looked at again in the run's database (`--workdir` keeps it).
"""

from __future__ import annotations

import asyncio
import mailbox
import sys
import time
from collections import Counter
from typing import Any

import asyncpg
import nats

from bench.chaos.load import LoadResults
from bench.chaos.stack import ChaosStack
from bench.day.run import settled
from shared.events.envelope import stream_name
from shared.events.registry import PRODUCERS
from shared.migrations import SERVICES

__all__ = ["check_invariants", "drained"]

_ACTIVE = "status IN ('offered', 'accepted', 'en_route', 'on_site')"
_EVIDENCE = 5


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more (a consumer may filter on a wildcard,
    e.g. requests' ``...visit.*``: counted by exact subject it seemed to have seen nothing on the stream)."""
    want, have = pattern.split("."), subject.split(".")
    for k, token in enumerate(want):
        if token == ">":
            return len(have) > k
        if k >= len(have) or (token != "*" and token != have[k]):
            return False
    return len(have) == len(want)


def _say(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


async def _consumers(stack: ChaosStack) -> list[tuple[str, Any]]:
    """(stream, consumer info) of every durable on every producer's stream."""
    nc = await nats.connect(servers=stack.broker.url.split(","), connect_timeout=5)
    try:
        js = nc.jetstream()
        found = []
        for producer in PRODUCERS:
            for consumer in await js.consumers_info(stream_name(producer)):
                found.append((stream_name(producer), consumer))
        return found
    finally:
        await nc.close()


async def drained(stack: ChaosStack, timeout_s: float) -> bool:
    """Every outbox published, every durable with nothing pending or unacknowledged, and the consumers quiet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not await settled(stack.database_url, max(1.0, deadline - time.monotonic())):
            return False
        try:
            busy = [info.name for _stream, info in await _consumers(stack) if info.num_pending or info.num_ack_pending]
        except Exception as exc:  # the broker may still be electing leaders
            busy = [repr(exc)]
        if not busy:
            return True
        _say(f"still busy: {', '.join(busy[:6])}")
        await asyncio.sleep(2.0)
    return False


def _result(count: int, evidence: list[Any], query: str, target: int | None = 0, **extra: Any) -> dict[str, Any]:
    return {
        "count": count,
        "target": target,
        "evidence": evidence[:_EVIDENCE],
        "query": " ".join(query.split()),
        **extra,
    }


async def _ids(conn: asyncpg.Connection, query: str, *args: Any) -> list[str]:
    return [str(row[0]) for row in await conn.fetch(query, *args)]


async def check_invariants(stack: ChaosStack, load: LoadResults) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await _check(conn, stack, load)
    finally:
        await conn.close()


async def _check(conn: asyncpg.Connection, stack: ChaosStack, load: LoadResults) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    accepted = list(load.filed)

    q = """SELECT a.id FROM unnest($1::uuid[]) AS a(id)
           LEFT JOIN requests.service_requests r ON r.id = a.id WHERE r.id IS NULL"""
    lost = await _ids(conn, q, accepted)
    out["accepted_then_lost"] = _result(len(lost), lost, q, accepted=len(accepted))

    q = """SELECT a.id FROM unnest($1::uuid[]) AS a(id)
           LEFT JOIN dispatch.jobs j ON j.request_id = a.id WHERE j.request_id IS NULL"""
    unseen = await _ids(conn, q, accepted)
    out["accepted_never_reached_dispatch"] = _result(len(unseen), unseen, q)

    # stuck: dispatch never decided (an emergency neither booked nor found unplaceable) or holds a job 'assigned' with
    # no live booking
    q = f"""
        SELECT j.request_id, j.kind, j.status FROM dispatch.jobs j
        WHERE j.request_id = ANY($1::uuid[]) AND (
          (j.status = 'open' AND j.kind = 'emergency' AND j.unplaceable_reason IS NULL)
          OR (j.status = 'assigned' AND NOT EXISTS (
                SELECT 1 FROM dispatch.assignments a WHERE a.request_id = j.request_id AND a.{_ACTIVE}))
        )"""
    rows = await conn.fetch(q, accepted)
    out["stuck_in_dispatch"] = _result(len(rows), [dict(r) for r in rows], q)

    # waiting, not stuck: an emergency a re-plan had to let go is 'open' again with its reason, for the retry loop
    q = """SELECT j.request_id, j.unplaceable_reason FROM dispatch.jobs j WHERE j.request_id = ANY($1::uuid[])
           AND j.status = 'open' AND j.kind = 'emergency' AND j.unplaceable_reason IS NOT NULL"""
    rows = await conn.fetch(q, accepted)
    out["emergencies_let_go_by_a_replan"] = _result(len(rows), [dict(r) for r in rows], q, target=None)

    q = f"""
        SELECT r.id, r.status AS request_status, r.assignment_id AS request_assignment, a.id AS dispatch_assignment,
               a.status AS dispatch_status
        FROM requests.service_requests r
        JOIN dispatch.assignments a ON a.request_id = r.id AND a.{_ACTIVE}
        WHERE r.id = ANY($1::uuid[]) AND (
          r.assignment_id IS DISTINCT FROM a.id
          OR r.status <> CASE a.status WHEN 'offered' THEN 'assigned' WHEN 'accepted' THEN 'assigned'
                                       ELSE a.status END)"""
    rows = await conn.fetch(q, accepted)
    out["customer_view_behind_dispatch"] = _result(len(rows), [dict(r) for r in rows], q)

    q = """SELECT r.id, r.status, j.status AS job_status FROM requests.service_requests r
           JOIN dispatch.jobs j ON j.request_id = r.id
           WHERE r.id = ANY($1::uuid[]) AND j.status = 'done'
           AND r.status NOT IN ('completed', 'failed', 'follow_up')"""
    rows = await conn.fetch(q, accepted)
    out["done_in_dispatch_not_for_customer"] = _result(len(rows), [dict(r) for r in rows], q)

    states = await conn.fetch(
        "SELECT status, count(*) AS n FROM requests.service_requests WHERE id = ANY($1::uuid[]) GROUP BY status",
        accepted,
    )
    jobs = await conn.fetch(
        "SELECT kind, status, count(*) AS n FROM dispatch.jobs WHERE request_id = ANY($1::uuid[]) GROUP BY 1, 2",
        accepted,
    )
    out["request_states"] = _result(
        0,
        [],
        "SELECT status, count(*) FROM requests.service_requests GROUP BY status",
        target=None,
        by_status={r["status"]: r["n"] for r in states},
        dispatch_jobs={f"{r['kind']}:{r['status']}": r["n"] for r in jobs},
    )

    q = f"SELECT request_id, count(*) FROM dispatch.assignments WHERE {_ACTIVE} GROUP BY request_id HAVING count(*) > 1"
    rows = await conn.fetch(q)
    out["double_active_assignments"] = _result(len(rows), [str(r[0]) for r in rows], q)

    q = f"""SELECT a.technician_id, a.id, b.id FROM dispatch.assignments a JOIN dispatch.assignments b
            ON a.technician_id = b.technician_id AND a.id < b.id
            AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end)
            WHERE a.{_ACTIVE} AND b.{_ACTIVE}"""
    rows = await conn.fetch(q)
    out["overlapping_bookings"] = _result(len(rows), [[str(v) for v in r] for r in rows], q)

    # effects applied once: every dispatch booking mirrored once on the customer's side, one frame per booking on
    # the technician's stream, one timeline entry per event and status, one filing per idempotency key
    q = """SELECT a.id FROM dispatch.assignments a LEFT JOIN requests.request_assignments m ON m.assignment_id = a.id
           WHERE m.assignment_id IS NULL AND a.request_id IN (SELECT id FROM requests.service_requests)"""
    missing = await _ids(conn, q)
    out["bookings_not_mirrored_for_customer"] = _result(len(missing), missing, q)

    q = """SELECT payload->>'assignment_id', count(*) FROM notify.stream_messages
           WHERE kind = 'assignment.created' AND stream LIKE 'technician:%'
           GROUP BY 1 HAVING count(*) > 1"""
    rows = await conn.fetch(q)
    out["technician_frame_doubled"] = _result(len(rows), [r[0] for r in rows], q)

    q = """SELECT a.id FROM dispatch.assignments a WHERE a.request_id = ANY($1::uuid[]) AND NOT EXISTS (
             SELECT 1 FROM notify.stream_messages s WHERE s.stream = 'technician:' || a.technician_id
             AND s.kind IN ('assignment.created', 'assignment.changed') AND s.payload->>'assignment_id' = a.id::text)"""
    missing = await _ids(conn, q, accepted)
    out["bookings_never_on_technician_stream"] = _result(len(missing), missing, q)

    q = """SELECT request_id, status, count(*) FROM requests.request_timeline
           GROUP BY request_id, status, source_event_id HAVING count(*) > 1"""
    rows = await conn.fetch(q)
    out["timeline_entries_doubled"] = _result(len(rows), [dict(r) for r in rows], q)

    q = """SELECT customer_id, idempotency_key, count(*) FROM requests.service_requests
           GROUP BY 1, 2 HAVING count(*) > 1"""
    rows = await conn.fetch(q)
    out["filed_twice_for_one_key"] = _result(len(rows), [dict(r) for r in rows], q)

    q = "SELECT request_id, count(*) FROM contracts.quota_consumptions GROUP BY 1 HAVING count(*) > 1"
    rows = await conn.fetch(q)
    out["quota_counted_twice"] = _result(len(rows), [str(r[0]) for r in rows], q)

    q = """SELECT source_event_id, target, count(*) FROM notify.deliveries
           GROUP BY 1, 2 HAVING count(*) > 1"""
    rows = await conn.fetch(q)
    mail_ids = Counter(str(m.get("Message-ID", "")) for m in mailbox.Maildir(stack.mail_dir, create=False))
    twice = [mid for mid, n in mail_ids.items() if n > 1 and mid]
    out["notification_sent_twice"] = _result(
        len(rows) + len(twice),
        [dict(r) for r in rows] + twice,
        q + " ; and the caught mail's Message-IDs (one per delivery) seen more than once",
        mails_caught=sum(mail_ids.values()),
    )

    # an e-mail the SMTP server took from a replica killed before it recorded "sent": the delivery is still queued
    # and goes again once its lease runs out (with the same Message-ID, so a mail system can drop the copy)
    q = "SELECT id FROM notify.deliveries WHERE status = 'queued' AND channel = 'email'"
    queued = {f"<{i}@fieldline.notify>" for i in await _ids(conn, q)}
    unrecorded = sorted(queued & set(mail_ids))
    out["mail_sent_but_not_recorded"] = _result(
        len(unrecorded), unrecorded, q + " ; whose Message-ID the mail catcher already holds", target=None
    )

    q = "SELECT status, count(*) FROM notify.deliveries GROUP BY status"
    out["deliveries_by_status"] = _result(0, [], q, target=None, by_status={r[0]: r[1] for r in await conn.fetch(q)})

    out |= await _messaging(conn, stack)

    q = "SELECT count(*) FROM requests.service_requests WHERE idempotency_key = ANY($1::text[])"
    orphans = int(await conn.fetchval(q, load.unanswered_filings))
    out["filed_but_client_not_told"] = _result(
        orphans,
        [],
        q,
        target=None,
        note="a filing whose answer was lost: the client may retry with the same key and get the same request",
        unanswered=len(load.unanswered_filings),
    )
    return out


async def _messaging(conn: asyncpg.Connection, stack: ChaosStack) -> dict[str, dict[str, Any]]:
    """Outbox rows vs stream messages per producer, stream messages vs processed + dead-lettered per consumer."""
    out: dict[str, dict[str, Any]] = {}
    unpublished = {
        s: int(await conn.fetchval(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")) for s in SERVICES
    }
    out["outbox_unpublished"] = _result(
        sum(unpublished.values()), [unpublished], "SELECT count(*) FROM <svc>.outbox WHERE published_at IS NULL"
    )

    processed: Counter[str] = Counter()
    dead: Counter[str] = Counter()
    reasons: list[dict[str, Any]] = []
    for schema in SERVICES:
        for row in await conn.fetch(f"SELECT consumer, count(*) FROM {schema}.processed_messages GROUP BY consumer"):
            processed[row[0]] += row[1]
        for row in await conn.fetch(
            f"SELECT consumer, subject, left(reason, 160) AS reason, count(*) AS n FROM {schema}.dead_letters "
            "GROUP BY 1, 2, 3 ORDER BY n DESC"
        ):
            dead[row["consumer"]] += row["n"]
            reasons.append({"service": schema, **dict(row)})

    nc = await nats.connect(servers=stack.broker.url.split(","), connect_timeout=5)
    try:
        js = nc.jetstream()
        per_subject: dict[str, int] = {}
        stream_vs_outbox = []
        for producer in PRODUCERS:
            info = await js.stream_info(stream_name(producer), subjects_filter=">")
            per_subject |= dict(info.state.subjects or {})
            published = int(
                await conn.fetchval(f"SELECT count(*) FROM {producer}.outbox WHERE published_at IS NOT NULL")
            )
            if published != info.state.messages:
                stream_vs_outbox.append(
                    {"producer": producer, "outbox_published": published, "stream": info.state.messages}
                )
        unapplied = []
        pending = []
        for producer in PRODUCERS:
            for consumer in await js.consumers_info(stream_name(producer)):
                subjects = (
                    [consumer.config.filter_subject]
                    if consumer.config.filter_subject
                    else list(consumer.config.filter_subjects or [])
                )
                on_stream = sum(n for subject, n in per_subject.items() if any(matches(f, subject) for f in subjects))
                seen = processed[consumer.name] + dead[consumer.name]
                if seen != on_stream:
                    unapplied.append(
                        {
                            "consumer": consumer.name,
                            "on_stream": on_stream,
                            "processed": processed[consumer.name],
                            "dead_lettered": dead[consumer.name],
                        }
                    )
                if consumer.num_pending or consumer.num_ack_pending:
                    pending.append(
                        {
                            "consumer": consumer.name,
                            "pending": consumer.num_pending,
                            "ack_pending": consumer.num_ack_pending,
                        }
                    )
    finally:
        await nc.close()
    out["outbox_vs_stream"] = _result(
        len(stream_vs_outbox), stream_vs_outbox, "per producer: outbox rows published vs the stream's message count"
    )
    out["events_not_applied_once"] = _result(
        len(unapplied),
        unapplied,
        "per durable: messages on its subject in the stream vs its processed_messages rows + dead letters",
    )
    out["consumers_still_pending"] = _result(len(pending), pending, "consumer info: num_pending, num_ack_pending")
    out["dead_letters"] = _result(
        sum(dead.values()),
        reasons,
        "SELECT consumer, subject, reason, count(*) FROM <svc>.dead_letters GROUP BY 1, 2, 3",
        target=None,
        by_consumer=dict(dead),
    )
    return out
