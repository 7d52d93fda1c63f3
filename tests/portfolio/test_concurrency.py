"""Twenty writers on one project: exactly one wins, the others get 412 and change nothing."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from portfolio.models import AuditEvent, Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_writers_one_success(member, unit):
    project = ProjectFactory(business_unit=unit, name="Original")
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        client = APIClient()
        client.force_authenticate(member)
        try:
            barrier.wait(timeout=30)
            response = client.patch(
                f"/api/v1/projects/{project.pk}/",
                {"name": f"Writer {i}"},
                format="json",
                HTTP_IF_MATCH='"1"',
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [200] + [412] * 19
    project.refresh_from_db()
    assert project.version == 2
    assert project.name.startswith("Writer ")
    events = AuditEvent.objects.filter(target_id=str(project.pk))
    assert events.count() == 1
    assert events.get().changes["name"]["after"] == project.name
    assert Project.objects.count() == 1
