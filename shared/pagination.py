"""One page of a list: every list endpoint takes `Paging` (limit 1..200, default 50; 422 beyond) (issue 16)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Select

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "Paging", "page"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")
Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def of(self, query: Q) -> Q:
        """The query limited to this page (the query must have a stable ORDER BY)."""
        return query.limit(self.limit).offset(self.offset)

    def window(self, items: Sequence[T]) -> list[T]:
        """This page of a list already in hand (lists bounded by their parent: a site's units, a contract's)."""
        return list(items[self.offset : self.offset + self.limit])


def page(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT} items"),
    offset: int = Query(0, ge=0, le=1_000_000, description="items to skip"),
) -> Page:
    return Page(limit=limit, offset=offset)


Paging = Annotated[Page, Depends(page)]
