"""HTTP API of the notify service: the caller's live stream."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.notify.streams import sse_messages, streams_for
from shared.auth import Principal
from shared.errors import Unauthorized

router = APIRouter(tags=["notify"])


async def _principal(request: Request, access_token: str | None) -> Principal:
    # Browsers' EventSource cannot set headers, so a token may come as a query parameter too.
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else access_token
    if not token:
        raise Unauthorized("a bearer token is required")
    principal: Principal = await request.app.state.verifier.verify(token)
    return principal


@router.get("/streams/me", summary="The caller's live stream (SSE); resumes after Last-Event-ID",
            response_class=StreamingResponse)
async def my_stream(request: Request, access_token: str | None = Query(None),
                    last_event_id: str | None = Header(None, alias="Last-Event-ID")) -> StreamingResponse:
    principal = await _principal(request, access_token)
    streams = streams_for(principal.role.value, principal.customer_id, principal.technician_id)
    try:
        after = int(last_event_id) if last_event_id else 0
    except ValueError:
        after = 0
    runtime = request.app.state.runtime
    return StreamingResponse(
        sse_messages(runtime.db, runtime.extras["hub"], streams, after, runtime.settings.sse_keepalive_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
