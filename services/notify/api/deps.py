"""What the notify routers depend on, typed: the caller, the unit of work, the clock and the service's parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.notify.domain.addresses import AllowList
from services.notify.domain.secret_cipher import SecretCipher
from services.notify.usecases.live_streams import LiveStreams
from shared.auth import Principal, Role, require_roles

# re-exported: the routers import every dependency from here
from shared.deps import Caller as Caller
from shared.deps import Now as Now
from shared.deps import Transactions
from shared.deps import UnitOfWork as UnitOfWork


def _cipher(request: Request) -> SecretCipher:
    cipher: SecretCipher = request.app.state.secret_cipher
    return cipher


def _allow_list(request: Request) -> AllowList:
    allow: AllowList = request.app.state.webhook_allow_list
    return allow


def _live_streams(request: Request, db: Transactions) -> LiveStreams:
    """The caller's live streams, read in transactions of its own (a customer's scoped to it)."""
    runtime = request.app.state.runtime
    return LiveStreams(db, runtime.extras["hub"], runtime.settings.sse_keepalive_s)


Session = UnitOfWork
# only the Authorization header: a token in the URL ends up in proxy and server logs (clients read SSE with fetch)
StreamCaller = Caller
Dispatcher = Annotated[Principal, Depends(require_roles(Role.DISPATCHER))]
Cipher = Annotated[SecretCipher, Depends(_cipher)]
WebhookAllowList = Annotated[AllowList, Depends(_allow_list)]
Streams = Annotated[LiveStreams, Depends(_live_streams)]
