"""Rows to typed records: a record's fields are the columns selected, by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class _Row(Protocol):
    @property
    def _mapping(self) -> Any: ...


def record(kind: type[T], row: _Row) -> T:
    return kind(**row._mapping)


def records(kind: type[T], rows: Iterable[_Row]) -> list[T]:
    return [kind(**row._mapping) for row in rows]
