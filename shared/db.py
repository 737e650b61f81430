"""Async engine and sessions, one schema per service."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from shared.settings import ServiceSettings

# the extensions the services' schemas use: PostGIS; btree_gist for the no-overlapping-bookings constraint; pg_trgm
# for the workspace's "contains" search. Created before the migrations run (deploy/local/bootstrap.sh and the
# compose initdb script repeat the list in shell and SQL).
EXTENSIONS = ("postgis", "btree_gist", "pg_trgm")

# asyncpg's errors for a server that refused, dropped or is restarting the connection (classes 08 and 57)
_CONNECTION_LOST = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def database_unreachable(exc: BaseException) -> bool:
    """The database refused or lost the connection (a restart, a failover): worth retrying, never a bug or poison.

    SQLAlchemy marks a connection it lost as invalidated; asyncpg raises its connection errors, and lets an OSError
    from connecting (refused, reset) through as it is, so one raised inside asyncpg counts too."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _CONNECTION_LOST):
            return True
        if isinstance(current, OSError) and any(
            "/asyncpg/" in frame.f_code.co_filename for frame, _ in traceback.walk_tb(current.__traceback__)
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """The metadata every table of one service lives in."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    return create_async_engine(
        settings.asyncpg_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        # SQL parameters are customers' addresses, names and phones: keep them out of error messages and logs
        hide_parameters=True,
        connect_args={
            **settings.asyncpg_connect_args,
            "server_settings": {
                "search_path": f"{settings.db_schema},public",
                "application_name": f"fieldline-{settings.service_name}",
                "statement_timeout": str(int(settings.db_statement_timeout_s * 1000)),
            },
        },
    )


class Database:
    """Sessions for one service. `transaction()` is the unit of work: commit on success, roll back on error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._after_commit: list[Callable[[], None]] = []

        class _Session(Session):
            pass

        @event.listens_for(_Session, "after_commit")
        def _run_after_commit(session: Session) -> None:
            if session.info.pop("outbox_dirty", False):
                for callback in self._after_commit:
                    callback()

        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, sync_session_class=_Session)

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit that wrote outbox rows (wakes the relay)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
