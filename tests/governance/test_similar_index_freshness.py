"""The similar-project index follows changes within SIMILAR_INDEX_MAX_AGE seconds: it is looked at
again at most that often (adding a project to a large index costs a pass over all of it), and a
change committed late, with an `updated_at` before the last look, is still added."""

from __future__ import annotations

import pytest

from governance import metrics_api, metrics_services
from portfolio.models import Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

TRANSCRIBE = dict(
    problem="Court hearings are recorded on audio and typed up by hand, weeks later.",
    benefits="Transcripts of hearings the same day.",
    outputs="A searchable transcript of each hearing recording.",
)


@pytest.fixture
def clock(monkeypatch):
    now = [10_000.0]
    monkeypatch.setattr(metrics_api.time, "monotonic", lambda: now[0])
    metrics_api.INDEX_CACHE.checked_at = float("-inf")
    yield now
    metrics_api.INDEX_CACHE.checked_at = float("-inf")


def found(api_client, member, **data) -> list[int]:
    api_client.force_authenticate(member)
    response = api_client.post(
        "/api/v1/projects/similar/", {"name": "Hearing transcription", **data}, format="json"
    )
    assert response.status_code == 200
    return [r["project"]["id"] for r in response.json()["results"]]


def test_a_new_project_is_found_once_the_index_is_looked_at_again(
    api_client, member, unit, settings, clock
):
    settings.SIMILAR_INDEX_MAX_AGE = 10
    first = ProjectFactory(name="Hearing transcription", business_unit=unit, **TRANSCRIBE)
    metrics_services.metrics_compute()
    assert found(api_client, member) == [first.pk]

    late = ProjectFactory(name="Hearing transcription desk", business_unit=unit, **TRANSCRIBE)
    clock[0] += 4
    assert late.pk not in found(api_client, member)  # looked at 4 s ago: not yet
    clock[0] += 7
    assert late.pk in found(api_client, member)


def test_a_change_committed_late_is_still_added(api_client, member, unit, settings, clock):
    settings.SIMILAR_INDEX_MAX_AGE = 0
    ProjectFactory(name="Hearing transcription", business_unit=unit, **TRANSCRIBE)
    metrics_services.metrics_compute()
    found(api_client, member)  # loads the index and tops it up: changes up to now are in

    # A write whose transaction began before that look (after the stored index was built) and
    # committed after it: its updated_at is older than the look.
    cache = metrics_api.INDEX_CACHE
    late = ProjectFactory(name="Hearing transcription booth", business_unit=unit, **TRANSCRIBE)
    before_the_look = cache.built_through + (cache.through - cache.built_through) / 2
    assert cache.built_through < before_the_look < cache.through
    Project.objects.filter(pk=late.pk).update(updated_at=before_the_look)
    assert late.pk in found(api_client, member)


def test_a_project_changed_again_is_indexed_with_its_latest_text(
    api_client, member, lead, unit, settings, clock
):
    from portfolio import services

    settings.SIMILAR_INDEX_MAX_AGE = 0
    ProjectFactory(name="Hearing transcription", business_unit=unit, **TRANSCRIBE)
    metrics_services.metrics_compute()
    other = ProjectFactory(
        name="Payroll anomalies",
        business_unit=unit,
        problem="Payroll errors found months late.",
        benefits="Fewer overpayments.",
        outputs="A weekly list of suspicious payslips.",
    )
    assert other.pk not in found(api_client, member)  # added with its payroll text

    services.project_update(
        actor=lead,
        project=other,
        expected_version=other.version,
        data={"name": "Hearing transcription pool", **TRANSCRIBE},
    )
    assert other.pk in found(api_client, member)  # added again, replacing the payroll text
