"""Lists for court clients: which court's records a client may list, and cursor pages from the index.

A court client lists its own court's records only (as it reads them one by one: see
:func:`api.routes.readable_view`); naming another court is a 403. Governance lists any court's. A page is
at most ``limit`` (1-100, 50 by default) records in chain order; ``next`` is an opaque cursor to pass as
``after`` for the following page, or null on the last page. A case number is looked up by its keyed digest
(K_case), never stored or logged by the service in the clear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from api.auth import Client
from api.errors import Forbidden
from api.routes import CaseNumber
from api.services import Services
from ledger.records import case_number_digest

__all__ = ["After", "CaseNumberQuery", "Limit", "Page", "digest_of", "listing_court", "page_of"]

T = TypeVar("T")
MAX_LIMIT = 100
_CURSOR = re.compile(r"^(\d{1,12})\.(\d{1,9})$")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"records per page, at most {MAX_LIMIT}")]
CaseNumberQuery = Annotated[CaseNumber | None, Query(description="the case number, as written on the judgment")]
After = Annotated[
    str | None, Query(max_length=32, description="the `next` cursor of the previous page", pattern=_CURSOR.pattern)
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None


def listing_court(client: Client, court: int | None) -> int | None:
    """The court whose records this client lists: its own for a court client; any (or all) for governance."""
    if client.kind == "governance":
        return court
    if court is not None and court != client.court_id:
        raise Forbidden(f"a court client lists the records of its own court ({client.court_id}) only")
    return client.court_id


def digest_of(services: Services, case_number: str | None) -> bytes | None:
    """The keyed on-chain digest of a (validated) case number, the index's key for it."""
    return None if case_number is None else case_number_digest(services.secrets.case_key, case_number)


def page_of(
    services: Services,
    table: str,
    filters: dict[str, Any],
    after: str | None,
    limit: int,
    item: Callable[[bytes], T | None],
) -> Page[T]:
    """One page of ``table`` (``judgments`` or ``cases``) under ``filters``, each record made by ``item``."""
    position = None
    if after is not None:
        match = _CURSOR.match(after)
        assert match is not None  # the query parameter's pattern
        position = (int(match.group(1)), int(match.group(2)))
    rows = services.index.page(table, filters, position, limit + 1)
    items = [found for record_id, _, _ in rows[:limit] if (found := item(record_id)) is not None]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page[T](items=items, next=f"{last[1]}.{last[2]}" if last else None)
