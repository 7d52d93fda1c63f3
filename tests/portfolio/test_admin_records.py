"""Admin pages of the records the system keeps (import jobs, the outbox): listed, shown, never
edited or deleted by hand; the uploaded file's bytes stay off the page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from portfolio.models import ImportJob, OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(user)
    return client


@pytest.fixture
def records(member):
    job = ImportJob.objects.create(
        created_by=member,
        format="maestro-csv",
        original_name="projects-q3.csv",
        content=b"SECRET-BYTES-OF-THE-UPLOAD",
        status=ImportJob.Status.REJECTED,
        total_rows=12,
        processed_rows=12,
        report={"rejected": [{"row": 7, "reason": "name: required"}]},
    )
    message = OutboxMessage.objects.create(
        task_name="portfolio.import_run", args=[job.pk], attempts=2, last_error="broker down"
    )
    return {"importjob": job, "outboxmessage": message}


@pytest.mark.parametrize("model", ["importjob", "outboxmessage"])
def test_records_are_listed_and_shown_read_only(superuser_client, records, model):
    obj = records[model]
    changelist = superuser_client.get(f"/admin/portfolio/{model}/")
    assert changelist.status_code == 200
    detail = superuser_client.get(f"/admin/portfolio/{model}/{obj.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert superuser_client.get(f"/admin/portfolio/{model}/add/").status_code == 403
    deleted = superuser_client.post(f"/admin/portfolio/{model}/{obj.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_import_job_page_shows_the_report_not_the_file(superuser_client, records):
    job = records["importjob"]
    page = superuser_client.get(f"/admin/portfolio/importjob/{job.pk}/change/")
    assert b"projects-q3.csv" in page.content and b"name: required" in page.content
    assert b"SECRET-BYTES-OF-THE-UPLOAD" not in page.content


def test_pending_outbox_messages_can_be_filtered(superuser_client, records):
    OutboxMessage.objects.create(task_name="portfolio.flush_done", args=[], dispatched_at=None)
    sent = OutboxMessage.objects.create(task_name="governance.sent_already", args=[])
    OutboxMessage.objects.filter(pk=sent.pk).update(dispatched_at="2026-01-01T00:00:00Z")
    page = superuser_client.get("/admin/portfolio/outboxmessage/?dispatched_at__isempty=1")
    assert page.status_code == 200
    listed = {m.task_name for m in page.context["cl"].result_list}
    assert "portfolio.flush_done" in listed and "governance.sent_already" not in listed
