"""Bounded page-number pagination for every list endpoint.

Page sizes are bounded (`page_size` ≤ API_MAX_PAGE_SIZE), and so is counting: the count is exact
up to API_MAX_COUNT matching rows; beyond that it stops there, says so (`count_is_exact: false`)
and pages end at that bound — narrow the filters to go further. Counting 100,000 rows on every
request would cost more than the page itself.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class CappedCountPaginator(Paginator):
    cap: int = 10_000

    count_is_exact = True

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list)  # built in Python: already in memory, exact
        counted = self.object_list.order_by()[: self.cap + 1].count()
        self.count_is_exact = counted <= self.cap
        return min(counted, self.cap)


class BoundedPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def django_paginator_class(self, *args: Any, **kwargs: Any) -> CappedCountPaginator:  # type: ignore[override]
        paginator = CappedCountPaginator(*args, **kwargs)
        paginator.cap = settings.API_MAX_COUNT
        return paginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        paginator = self.page.paginator
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
