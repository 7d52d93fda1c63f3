"""Bounded page-number pagination for every list endpoint.

Page sizes are bounded (`page_size` ≤ API_MAX_PAGE_SIZE), and so is counting: the count is exact
up to API_MAX_COUNT matching rows; beyond that it stops there, says so (`count_is_exact: false`)
and pages end at that bound — narrow the filters to go further. Counting 100,000 rows on every
request would cost more than the page itself.

A query whose count reached the bound is remembered as such, per process, for
PORTFOLIO_COUNTS_MAX_AGE seconds (the dashboards' freshness bound, 10 by default; 0: never):
the next pages of a large list skip the count (the bulk of a page's database time). Counts
under the bound are always taken afresh.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

_CAPPED_LIMIT = 2_000  # remembered queries per process; forgotten all at once beyond
_capped: dict[str, float] = {}  # query digest -> time.monotonic() when its count hit the bound


class CappedCountPaginator(Paginator[Any]):
    cap: int = 10_000

    count_is_exact = True
    # When at most `few_rows` rows match, the page is read in `few_rows_ordering(object_list)`
    # instead (the same order, planned differently: see ProjectViewSet.paginate_queryset).
    few_rows: int = 0
    few_rows_ordering: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list)  # built in Python: already in memory, exact
        counting = self.object_list.order_by()[: self.cap + 1]
        max_age = settings.PORTFOLIO_COUNTS_MAX_AGE
        digest = ""
        if max_age > 0:
            sql, params = counting.query.sql_with_params()
            digest = hashlib.sha256(repr((counting.db, sql, params)).encode()).hexdigest()
            seen = _capped.get(digest)
            if seen is not None and time.monotonic() - seen < max_age:
                self.count_is_exact = False
                return self.cap
        counted = counting.count()
        self.count_is_exact = counted <= self.cap
        if digest and not self.count_is_exact:
            if len(_capped) >= _CAPPED_LIMIT:
                _capped.clear()
            _capped[digest] = time.monotonic()
        return min(counted, self.cap)

    def page(self, number: Any) -> Any:
        number = self.validate_number(number)  # counts first
        if (
            self.few_rows_ordering is not None
            and self.count_is_exact
            and self.count <= self.few_rows
            and isinstance(self.object_list, QuerySet)
        ):
            self.object_list = self.few_rows_ordering(self.object_list)
        return super().page(number)


class BoundedPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    few_rows: int = 0
    few_rows_ordering: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None

    def django_paginator_class(self, *args: Any, **kwargs: Any) -> CappedCountPaginator:  # type: ignore[override]
        paginator = CappedCountPaginator(*args, **kwargs)
        paginator.cap = settings.API_MAX_COUNT
        paginator.few_rows = self.few_rows
        paginator.few_rows_ordering = self.few_rows_ordering
        return paginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        page = self.page  # set by paginate_queryset; super() has just read it
        paginator = page.paginator if page is not None else None
        response.data["count_is_exact"] = getattr(paginator, "count_is_exact", True)
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["properties"]["count_is_exact"] = {
            "type": "boolean",
            "description": "False when more rows match than API_MAX_COUNT (count stops there).",
        }
        result["required"] = [*result.get("required", []), "count_is_exact"]
        return result
