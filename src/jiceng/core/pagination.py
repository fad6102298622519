"""Pagination with bounds. The API's: a limit of 1–500 and an offset below ten million, so
an absurd offset is refused (422) instead of overflowing the database's integer. The
pages': `page_of` gives a list's page with its total (core/templates/core/_pager.html shows
both), counting at most COUNT_CAP rows, above which the total reads "1万+"."""

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000
COUNT_CAP = 10_000


class BoundedPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs):
        super().__init__(max_limit=MAX_LIMIT, **kwargs)


class CappedPaginator(Paginator):
    """Counts no further than COUNT_CAP + 1 rows: an exact count of a large table is a
    full scan, and nobody pages through ten thousand rows (they filter)."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if hasattr(rows, "query"):
            return rows[: COUNT_CAP + 1].count()
        return len(rows)

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def total_label(self) -> str:
        if not self.is_capped:
            return str(self.count)
        return f"{COUNT_CAP // 10_000}万+" if COUNT_CAP % 10_000 == 0 else f"{COUNT_CAP}+"


def page_of(request, rows, per_page: int = 50, parameter: str = "page") -> Page:
    """The page of `rows` named by the request's `page` parameter (the last page for a
    number past the end, the first for anything else)."""
    return CappedPaginator(rows, per_page).get_page(request.GET.get(parameter))
