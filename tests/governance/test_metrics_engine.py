"""The metrics engine: facts in constant queries, stored results, idempotence, failure, lock,
goal suggestions, the change-triggered run and the daily catch-up."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from governance import metrics_selectors, metrics_services, tasks
from governance.models import (
    MetricLock,
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
    SimilarityIndexBlob,
)
from portfolio.models import AuditEvent, GoalAlignment, OutboxMessage, Project
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    StrategicGoalFactory,
    ToolFactory,
)

TRANSCRIBE = dict(
    problem="Court hearings are recorded on audio and typed up by hand, weeks later.",
    benefits="Transcripts of hearings the same day.",
    outputs="A searchable transcript of each hearing recording.",
)
FRAUD = dict(
    problem="Invoices from vendors are checked by hand for fraud and duplicate payments.",
    benefits="Fraud and improper payments found before payment.",
    outputs="A risk score per invoice.",
)


@pytest.fixture
def portfolio(db):
    """Two units with look-alike transcription projects, a fraud pair, an unrelated project."""
    root = BusinessUnitFactory(code="ORG", name="Organisation")
    justice = BusinessUnitFactory(code="JUS", name="Justice", parent=root)
    health = BusinessUnitFactory(code="HEA", name="Health", parent=root)
    transcription = CapabilityFactory(name="Transcription", slug="transcription")
    whisper = ToolFactory(name="Whisper", vendor="OpenAI")
    a = ProjectFactory(name="Hearing transcription", business_unit=justice, **TRANSCRIBE)
    b = ProjectFactory(name="Hearing transcription service", business_unit=health, **TRANSCRIBE)
    c = ProjectFactory(name="Invoice fraud detection", business_unit=justice, **FRAUD)
    d = ProjectFactory(name="Invoice fraud screening", business_unit=justice, **FRAUD)
    e = ProjectFactory(
        name="Satellite crop monitoring",
        business_unit=health,
        problem="Crop yields are estimated from field visits.",
        benefits="Yield forecasts.",
        outputs="Maps of crop health.",
    )
    for project in (a, b):
        project.capabilities.add(transcription)
        project.tools.add(whisper)
    archived = ProjectFactory(
        name="Hearing transcription old",
        business_unit=justice,
        archived_at=timezone.now(),
        **TRANSCRIBE,
    )
    goal = StrategicGoalFactory(
        title="Faster court hearings transcripts",
        description="Transcripts of hearing recordings for courts the same day.",
    )
    return {
        "units": (root, justice, health),
        "projects": (a, b, c, d, e),
        "archived": archived,
        "goal": goal,
    }


def pair_rows():
    return sorted(
        OverlapPair.objects.values_list(
            "project_a_id",
            "project_b_id",
            "score",
            "grade",
            "cross_unit",
            "review_status",
            "current",
        )
    )


def snapshot_rows():
    return sorted(MetricSnapshot.objects.values_list("metric", "scope", "date", "value"))


def test_facts_are_built_in_a_constant_number_of_queries(portfolio, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        facts = metrics_selectors.portfolio_facts()
    assert {p.name for p in facts.projects} == {p.name for p in portfolio["projects"]}
    # Ten more projects with tools and capabilities: still the same number of queries.
    capability = CapabilityFactory()
    tool = ToolFactory()
    for _ in range(10):
        project = ProjectFactory(business_unit=portfolio["units"][1])
        project.capabilities.add(capability)
        project.tools.add(tool)
    with django_assert_max_num_queries(12):
        facts = metrics_selectors.portfolio_facts()
    assert len(facts.projects) == 15
    a = next(p for p in facts.projects if p.id == portfolio["projects"][0].id)
    assert a.capabilities == ("Transcription",)
    assert a.tools == ("Whisper",) and a.vendors == ("OpenAI",)
    # Scope units: the root's children (one organisation root).
    assert a.scope_unit_id == portfolio["units"][1].pk


def test_compute_stores_pairs_clusters_snapshots_index(portfolio):
    a, b, c, d, _ = portfolio["projects"]

    run = metrics_services.metrics_compute(kind=MetricRun.Kind.FULL)

    assert run.status == MetricRun.Status.SUCCEEDED
    assert run.progress == 100 and run.finished_at is not None
    pairs = {(p.project_a_id, p.project_b_id): p for p in OverlapPair.objects.all()}
    assert (a.pk, b.pk) in pairs and pairs[(a.pk, b.pk)].cross_unit
    assert (c.pk, d.pk) in pairs and not pairs[(c.pk, d.pk)].cross_unit
    assert all(portfolio["archived"].pk not in key for key in pairs)
    assert any("Whisper" in reason for reason in pairs[(a.pk, b.pk)].reasons)
    clusters = list(OverlapCluster.objects.filter(run=run))
    members = [set(cl.members.values_list("pk", flat=True)) for cl in clusters]
    assert {a.pk, b.pk} in members and {c.pk, d.pk} in members
    cross = next(cl for cl in clusters if cl.cross_unit)
    assert not cross.hygiene and cross.unit_count == 2
    assert run.counts["clusters"] == len(clusters)
    today = timezone.localdate()
    assert MetricSnapshot.objects.get(metric="projects", scope="portfolio", date=today).value == 5
    assert MetricSnapshot.objects.filter(scope__startswith="unit:").exists()
    assert SimilarityIndexBlob.objects.get(run=run).project_count == 5
    assert MetricLock.objects.get().holder is None


def test_rerunning_without_changes_changes_nothing(portfolio):
    metrics_services.metrics_compute()
    pairs, snapshots = pair_rows(), snapshot_rows()
    keys = sorted(OverlapCluster.objects.values_list("key", flat=True))
    alignments = sorted(GoalAlignment.objects.values_list("project_id", "goal_id", "status"))

    second = metrics_services.metrics_compute()

    assert pair_rows() == pairs
    assert snapshot_rows() == snapshots
    assert sorted(OverlapCluster.objects.values_list("key", flat=True)) == keys
    assert OverlapCluster.objects.exclude(run=second).count() == 0
    assert sorted(GoalAlignment.objects.values_list("project_id", "goal_id", "status")) == (
        alignments
    )
    assert second.counts["pairs_created"] == 0 and second.counts["pairs_updated"] == 0


def test_dismissed_pair_stays_dismissed_and_reviewed_pairs_survive(portfolio, reviewer):
    a, b, c, d, _ = portfolio["projects"]
    metrics_services.metrics_compute()
    pair = OverlapPair.objects.get(project_a=a, project_b=b)
    metrics_services.overlap_pair_review(
        actor=reviewer, pair=pair, status="dismissed", note="Different courts."
    )
    assert AuditEvent.objects.filter(action="overlap_pair.reviewed").count() == 1

    metrics_services.metrics_compute()
    pair.refresh_from_db()
    assert pair.review_status == "dismissed" and pair.reviewed_by == reviewer and pair.current

    # The fraud pair disappears (one project archived): an open pair is deleted, a dismissed
    # one is kept as not current.
    b.archived_at = timezone.now()
    b.save()
    d.archived_at = timezone.now()
    d.save()
    metrics_services.metrics_compute()
    pair.refresh_from_db()
    assert not pair.current and pair.review_status == "dismissed"
    assert not OverlapPair.objects.filter(project_a=c, project_b=d).exists()


def test_changed_pair_values_are_rewritten_and_a_retired_pair_found_again_is_current(
    portfolio, reviewer
):
    # Given stored pairs whose values differ from what the next run finds (an older scoring)
    a, b, c, d, _ = portfolio["projects"]
    first = metrics_services.metrics_compute()
    expected = pair_rows()
    stale = OverlapPair.objects.get(project_a=a, project_b=b)
    metrics_services.overlap_pair_review(actor=reviewer, pair=stale, status="dismissed")
    OverlapPair.objects.filter(pk=stale.pk).update(
        score=0.01, grade="complementary", reasons=["old"], current=False
    )
    untouched = OverlapPair.objects.get(project_a=c, project_b=d)

    # When the metrics are computed again
    second = metrics_services.metrics_compute()

    # Then the changed pair gets the values found, is current again, keeps its review and
    # names the run that changed it; the unchanged pair is not written
    stale.refresh_from_db()
    assert stale.current and stale.score > 0.01 and stale.reasons != ["old"]
    assert stale.review_status == "dismissed" and stale.last_run_id == second.pk
    assert second.counts["pairs_updated"] == 1 and second.counts["pairs_created"] == 0
    untouched_now = OverlapPair.objects.get(pk=untouched.pk)
    assert untouched_now.last_run_id == first.pk
    assert untouched_now.updated_at == untouched.updated_at
    assert [row[:5] for row in pair_rows()] == [row[:5] for row in expected]


def test_a_run_records_the_time_of_each_stage(portfolio):
    run = metrics_services.metrics_compute()

    stages = run.counts["stage_seconds"]
    assert {"facts", "compute", "store_pairs", "store_clusters", "store"} <= set(stages)
    assert all(value >= 0 for value in stages.values())
    assert run.counts["seconds"] >= stages["store"]
    assert "store_pairs" in metrics_services.run_summary(run)


def test_only_reviewers_review_pairs(portfolio, member):
    from django.core.exceptions import PermissionDenied

    metrics_services.metrics_compute()
    pair = OverlapPair.objects.first()
    with pytest.raises(PermissionDenied):
        metrics_services.overlap_pair_review(actor=member, pair=pair, status="confirmed")


@pytest.mark.parametrize("target", ["find_clusters", "_store_snapshots"])
def test_failure_mid_run_keeps_previous_results(portfolio, monkeypatch, target):
    first = metrics_services.metrics_compute()
    pairs, snapshots = pair_rows(), snapshot_rows()
    clusters = sorted(OverlapCluster.objects.values_list("run_id", "key"))
    ProjectFactory(
        name="Hearing transcription copy", business_unit=portfolio["units"][2], **TRANSCRIBE
    )

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(metrics_services, target, boom)
    with pytest.raises(RuntimeError):
        metrics_services.metrics_compute()

    failed = MetricRun.objects.exclude(pk=first.pk).get()
    assert failed.status == MetricRun.Status.FAILED and "disk on fire" in failed.error
    assert pair_rows() == pairs
    assert snapshot_rows() == snapshots
    assert sorted(OverlapCluster.objects.values_list("run_id", "key")) == clusters
    assert SimilarityIndexBlob.objects.get().run_id == first.pk
    assert MetricLock.objects.get().holder is None
    assert metrics_selectors.last_successful_run() == first


def test_run_marked_failed_while_computing_stores_nothing(portfolio, monkeypatch):
    """Recovery gave up on a slow run (no heartbeat) while it was still computing: when it
    finishes, it must not store over what a newer delivery may have written."""
    from governance import recovery

    first = metrics_services.metrics_compute()
    pairs, snapshots = pair_rows(), snapshot_rows()
    ProjectFactory(
        name="Hearing transcription copy", business_unit=portfolio["units"][2], **TRANSCRIBE
    )
    original = metrics_services.compute

    def compute_then_abandoned(facts, run=None):
        results = original(facts, run)
        MetricRun.objects.filter(pk=run.pk).update(
            heartbeat_at=timezone.now() - dt.timedelta(days=3)
        )
        assert recovery.metrics_runs_abandoned_fail() == 1
        return results

    monkeypatch.setattr(metrics_services, "compute", compute_then_abandoned)
    with pytest.raises(metrics_services.RunNotRunning):
        metrics_services.metrics_compute()

    late = MetricRun.objects.exclude(pk=first.pk).get()
    assert late.status == MetricRun.Status.FAILED and late.error == recovery.ABANDONED
    assert pair_rows() == pairs and snapshot_rows() == snapshots
    assert SimilarityIndexBlob.objects.get().run_id == first.pk
    assert metrics_selectors.last_successful_run() == first


def test_second_run_is_skipped_while_the_lock_is_held(portfolio):
    holder = MetricRun.objects.create(kind="full", started_at=timezone.now())
    MetricLock.objects.create(
        name=metrics_services.LOCK_NAME, holder=holder, acquired_at=timezone.now()
    )

    run = metrics_services.metrics_compute()

    assert run.status == MetricRun.Status.SKIPPED
    assert not OverlapPair.objects.exists()
    # A stale lock (its run died) is taken over.
    MetricLock.objects.update(acquired_at=timezone.now() - dt.timedelta(days=1))
    assert metrics_services.metrics_compute().status == MetricRun.Status.SUCCEEDED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_run_in_another_thread_is_skipped(monkeypatch):
    ProjectFactory.create_batch(3)
    entered, release = threading.Event(), threading.Event()
    original = metrics_services.compute

    def slow(facts, run=None):
        entered.set()
        release.wait(30)
        return original(facts, run)

    monkeypatch.setattr(metrics_services, "compute", slow)
    results = {}

    def first():
        try:
            results["first"] = metrics_services.metrics_compute()
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(30)
    second = metrics_services.metrics_compute()
    release.set()
    thread.join(60)
    assert second.status == MetricRun.Status.SKIPPED
    assert results["first"].status == MetricRun.Status.SUCCEEDED


def test_goal_suggestions_never_overwrite_confirmed_or_rejected(portfolio):
    a, b, *_ = portfolio["projects"]
    goal = portfolio["goal"]
    rejected = GoalAlignmentFactory(project=b, goal=goal, status="rejected", rationale="No.")

    metrics_services.metrics_compute()

    suggested = GoalAlignment.objects.get(project=a, goal=goal)
    assert suggested.status == "suggested" and suggested.rationale
    event = AuditEvent.objects.get(action="alignment.suggested", target_id=str(suggested.pk))
    assert event.actor is None and event.actor_label == "system" and event.project_id == a.pk
    rejected.refresh_from_db()
    assert rejected.status == "rejected" and rejected.rationale == "No."
    # Confirmed by a person: the next run leaves it alone.
    GoalAlignment.objects.filter(pk=suggested.pk).update(status="confirmed")
    metrics_services.metrics_compute()
    assert GoalAlignment.objects.get(pk=suggested.pk).status == "confirmed"
    assert GoalAlignment.objects.filter(project=a, goal=goal).count() == 1


def test_compute_if_changed_runs_only_after_a_change(portfolio):
    assert tasks.compute_metrics_if_changed.apply().get() is not None  # never ran: runs
    assert MetricRun.objects.count() == 1

    assert tasks.compute_metrics_if_changed.apply().get() is None
    assert MetricRun.objects.count() == 1

    project = portfolio["projects"][4]
    Project.objects.filter(pk=project.pk).update(
        name="Satellite crop monitoring v2", updated_at=timezone.now()
    )
    run_id = tasks.compute_metrics_if_changed.apply().get()
    run = MetricRun.objects.get(pk=run_id)
    assert run.kind == MetricRun.Kind.INCREMENTAL and run.status == MetricRun.Status.SUCCEEDED
    assert tasks.compute_metrics_if_changed.apply().get() is None


def test_snapshot_catch_up_runs_once_per_day(portfolio):
    today = timezone.localdate().isoformat()

    first = tasks.snapshot_metrics.apply(kwargs={"day": today}).get()
    again = tasks.snapshot_metrics.apply(kwargs={"day": today}).get()

    assert first is not None and again is None
    assert MetricRun.objects.filter(kind="snapshot", scheduled_for=today).count() == 1
    # A second delivery racing the first: the day's run is unique, nothing is computed twice.
    assert (
        metrics_services.metrics_compute(kind="snapshot", scheduled_for=timezone.localdate()).pk
        == first
    )
    assert MetricRun.objects.count() == 1


def test_nightly_run_is_once_per_day_and_snapshot_then_not_needed(portfolio):
    first = tasks.compute_metrics.apply(kwargs={"scheduled": True}).get()
    again = tasks.compute_metrics.apply(kwargs={"scheduled": True}).get()
    assert first == again
    assert tasks.snapshot_metrics.apply().get() is None
    assert MetricRun.objects.count() == 1


def test_failed_scheduled_run_gives_the_day_back(portfolio, monkeypatch):
    monkeypatch.setattr(metrics_services, "find_clusters", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tasks.snapshot_metrics.apply(kwargs={"day": timezone.localdate().isoformat()}).get()
    monkeypatch.undo()
    assert tasks.snapshot_metrics.apply().get() is not None
    assert MetricRun.objects.filter(status="succeeded", kind="snapshot").count() == 1


def test_schedule_incremental_is_debounced(portfolio, django_capture_on_commit_callbacks):
    for _ in range(100):
        metrics_services.metrics_schedule_incremental()
    assert OutboxMessage.objects.filter(task_name=metrics_services.INCREMENTAL_TASK).count() == 1


def test_command_prints_a_summary(portfolio, capsys):
    call_command("compute_metrics")
    out = capsys.readouterr().out
    assert "pairs" in out and "clusters" in out and "cross-unit" in out and "hygiene" in out
    assert metrics_selectors.last_run_age_seconds() is not None
