"""Async engine and sessions, one schema per service."""

from __future__ import annotations

import copy
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from shared.db_roles import scope_to_customer
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


def _database_error(exc: BaseException) -> DBAPIError | asyncpg.PostgresError | asyncpg.InterfaceError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError | asyncpg.PostgresError | asyncpg.InterfaceError):
            return current
        current = current.__cause__ or current.__context__
    return None


def error_without_values(exc: BaseException) -> str | None:
    """A database error said without its message: the driver's ("invalid input for query argument $1: '<a phone>'")
    and PostgreSQL's ("Key (email)=(<an address>) already exists") repeat the row's values, which are customers'
    personal data; `hide_parameters` keeps only SQLAlchemy's own list of them out. None for any other error."""
    found = _database_error(exc)
    if found is None:
        return None
    orig = found.orig if isinstance(found, DBAPIError) else found
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    statement = f" in [SQL: {found.statement}]" if isinstance(found, DBAPIError) and found.statement else ""
    kind = type(orig.__cause__ if orig is not None and orig.__cause__ else orig).__name__
    return f"{type(found).__name__}: {kind} (SQLSTATE {sqlstate or 'none'}){statement}; message withheld (row values)"


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


T = TypeVar("T")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def record(kind: type[T], row: Any) -> T:
    """The dataclass `kind` from a row (SQLAlchemy's or asyncpg's) holding its fields by name; other columns are
    left out, a field with a default may be missing."""
    mapping = getattr(row, "_mapping", row)
    present = set(mapping.keys())  # asyncpg's keys() is an iterator
    return kind(**{name: mapping[name] for name in _field_names(kind) if name in present})


def values_of(rec: Any) -> dict[str, Any]:
    """A record's fields by name (shallow), for an answer or an insert."""
    return {name: getattr(rec, name) for name in _field_names(type(rec))}


def records(kind: type[T], rows: Iterable[Any]) -> list[T]:
    return [record(kind, row) for row in rows]


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
    """Sessions for one service. `transaction()` is the unit of work: commit on success, roll back on error.

    `for_customer(id)` is the same database with every transaction scoped to that customer: row-level security
    (shared/db_roles.py) then shows and takes only its rows, in a request's unit of work and in the transactions a
    use case or a stream opens for that customer alike.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.customer_id: uuid.UUID | None = None  # set: every transaction is that customer's
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

    def for_customer(self, customer_id: uuid.UUID | None) -> Database:
        """This database (same engine, same sessions) with every transaction scoped to `customer_id` (a customer
        without one gets no rows: the nil id matches nothing)."""
        scoped = copy.copy(self)
        scoped.customer_id = customer_id or uuid.UUID(int=0)
        return scoped

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session, session.begin():
            if self.customer_id is not None:
                await scope_to_customer(session, self.customer_id)
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
