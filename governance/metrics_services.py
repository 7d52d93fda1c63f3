"""Writes of the metrics engine: runs (locked, recorded), their stored results, pair reviews.

A run reads the facts (`metrics_selectors.portfolio_facts`), computes everything with the pure
functions of `governance.metrics` outside any transaction, then stores ALL results in one
transaction at the end. A run that dies halfway leaves the previous results visible and whole.
See docs/metrics-engine.md.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from governance import metrics_selectors
from governance.metrics.alignment import AlignmentReport, GoalSuggestion, alignment, suggest_goals
from governance.metrics.clusters import Cluster, find_clusters
from governance.metrics.coverage import CoverageReport, coverage
from governance.metrics.fragmentation import FragmentationReport, fragmentation
from governance.metrics.overlap import OverlapAnalysis, ProjectProfiles, find_overlaps
from governance.metrics.similar import SimilarityIndex
from governance.metrics.text import Lexicon
from governance.models import (
    MetricLock,
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
    SimilarityIndexBlob,
)
from portfolio import audit, roles, task_queue
from portfolio.models import AuditEvent, GoalAlignment, OutboxMessage, Project, StrategicGoal

logger = logging.getLogger(__name__)
Actor = AbstractBaseUser | AnonymousUser | None

# Full, incremental and snapshot runs write the same tables: one lock keeps them apart.
LOCK_NAME = "portfolio-metrics"
# Older similarity indexes than the newest few are deleted when a run stores its own.
KEEP_INDEXES = 2
INCREMENTAL_TASK = "governance.compute_metrics_incremental"
# The stages a run times (`counts["stage_seconds"]`), in order; `store` is the whole store step.
STAGES = (
    "facts",
    "compute",
    "store_pairs",
    "store_clusters",
    "store_snapshots",
    "index_bytes_wait",
    "store_index",
    "store_suggestions",
    "store",
)


class MetricsLocked(Exception):
    """Another run holds the metrics lock."""


def lock_stale_after() -> dt.timedelta:
    """A lock older than this belongs to a dead run (default: Celery hard time limit + 1 min)."""
    default = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 1800)) + 60
    return dt.timedelta(
        seconds=int(getattr(settings, "MAESTRO_METRICS_LOCK_STALE_SECONDS", default))
    )


def debounce_seconds() -> int:
    return int(getattr(settings, "MAESTRO_METRICS_DEBOUNCE_SECONDS", 60))


# --- The lock ------------------------------------------------------------------------------------


def _lock_row() -> MetricLock:
    try:
        return MetricLock.objects.get_or_create(name=LOCK_NAME)[0]
    except IntegrityError:  # created concurrently
        return MetricLock.objects.get(name=LOCK_NAME)


def lock_acquire(run: MetricRun) -> bool:
    """Make `run` the holder of the metrics lock; False when a live run holds it.

    PostgreSQL: the lock row is claimed with `select_for_update(nowait=True)` (a competitor fails
    at once instead of waiting). SQLite has no row locks: one conditional UPDATE claims it.
    Either way `holder`/`acquired_at` mark the lock for the whole run, and a claim older than
    `lock_stale_after()` (a killed worker) may be taken over.
    """
    _lock_row()
    now = timezone.now()
    free = Q(holder__isnull=True) | Q(acquired_at__lt=now - lock_stale_after())
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                row = MetricLock.objects.select_for_update(nowait=True).get(name=LOCK_NAME)
                if not MetricLock.objects.filter(free, pk=row.pk).exists():
                    return False
                MetricLock.objects.filter(pk=row.pk).update(holder=run, acquired_at=now)
                return True
        except DatabaseError:  # could not obtain lock on row: another run is claiming it
            return False
    return bool(MetricLock.objects.filter(free, name=LOCK_NAME).update(holder=run, acquired_at=now))


def lock_release(run: MetricRun) -> None:
    MetricLock.objects.filter(name=LOCK_NAME, holder=run).update(holder=None, acquired_at=None)


# --- Computing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    """Everything one run computed (pure values), ready to be stored."""

    facts: metrics_selectors.PortfolioFacts
    overlaps: OverlapAnalysis
    clusters: tuple[Cluster, ...]
    fragmentation: FragmentationReport
    alignment: AlignmentReport
    suggestions: tuple[GoalSuggestion, ...]
    coverage: CoverageReport
    index: SimilarityIndex | None


def _progress(run: MetricRun, percent: int) -> None:
    now = timezone.now()
    MetricRun.objects.filter(pk=run.pk).update(progress=percent, heartbeat_at=now)
    MetricLock.objects.filter(name=LOCK_NAME, holder=run).update(acquired_at=now)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: computing allocates millions of small objects
    (terms, pairs, reasons) and none of them form cycles, yet each collection would walk them
    all (about a fifth of the time at 100k projects). Reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute(facts: metrics_selectors.PortfolioFacts, run: MetricRun | None = None) -> Results:
    """The pure metrics over the facts (what `report.compute_portfolio_metrics` does, stage by
    stage so that progress is reported, and the similarity index shares the profiles' text
    model instead of analysing every text again)."""
    with _no_cyclic_gc():
        return _compute(facts, run)


def _compute(facts: metrics_selectors.PortfolioFacts, run: MetricRun | None) -> Results:
    def step(percent: int) -> None:
        if run is not None:
            _progress(run, percent)

    projects = sorted(facts.projects, key=lambda p: p.id)
    lexicon = Lexicon.with_catalogue(facts.tools)
    profiles = ProjectProfiles(projects, None, lexicon)
    # Before anything else analyses text with the profiles' model (see `from_profiles`).
    index = SimilarityIndex.from_profiles(profiles) if projects else None
    step(20)
    overlaps = find_overlaps(profiles)
    step(45)
    clusters = find_clusters(overlaps)
    step(60)
    tools_by_project = {
        p.id: sorted(profiles.tool_names[i]) for i, p in enumerate(profiles.projects)
    }
    report = fragmentation(projects, clusters, tools=tools_by_project)
    aligned = alignment(projects, facts.goals)
    suggestions = suggest_goals(
        projects, facts.goals, None, lexicon, text=(profiles.text_model, profiles.text)
    )
    covered = coverage(
        projects,
        as_of=timezone.localdate(facts.read_at),
        governance=facts.governance,
        reviews=facts.reviews,
        tools=facts.tools,
    )
    step(85)
    return Results(facts, overlaps, clusters, report, aligned, suggestions, covered, index)


# --- Storing -------------------------------------------------------------------------------------


def _cluster_key(cluster: Cluster) -> str:
    digest = hashlib.sha256(",".join(map(str, cluster.member_ids)).encode()).hexdigest()[:12]
    return f"{cluster.id}-{digest}"


def _copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """PostgreSQL: stream rows into `table` with one COPY (no model instances, no per-batch SQL).
    Values are adapted by psycopg; a JSON value is passed as its text."""
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _pair_values(pair: Any) -> tuple[int, int, float, str, bool, list[str]]:
    return (
        pair.a_id,
        pair.b_id,
        float(pair.score),
        pair.grade,
        pair.cross_unit,
        list(pair.reasons),
    )


def _store_pairs(run: MetricRun, results: Results) -> dict[str, int]:
    """Upsert the pairs found; keep reviews. Pairs not found again: reviewed ones are kept as
    not current, open ones are deleted. Only rows whose values changed are written."""
    if connection.vendor == "postgresql":
        return _store_pairs_postgresql(run, results)
    return _store_pairs_orm(run, results)


def _store_pairs_postgresql(run: MetricRun, results: Results) -> dict[str, int]:
    """The pairs found are COPYed into a temporary table; four set statements then insert the
    new ones, update the changed ones, and retire the ones not found again. No pair row is read
    into Python (at 100k projects: ~400k pairs in a few seconds instead of minutes)."""
    # Only identifiers from the model's metadata are formatted into the statements; every value
    # is a parameter.
    table = connection.ops.quote_name(OverlapPair._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE metrics_found_pairs (a bigint NOT NULL, b bigint NOT NULL,"
            " score double precision NOT NULL, grade varchar(16) NOT NULL,"
            " cross_unit boolean NOT NULL, reasons jsonb NOT NULL) ON COMMIT DROP"
        )
        _copy_rows(
            "metrics_found_pairs",
            ("a", "b", "score", "grade", "cross_unit", "reasons"),
            (
                (a, b, score, grade, cross, json.dumps(reasons))
                for a, b, score, grade, cross, reasons in map(_pair_values, results.overlaps.pairs)
            ),
        )
        cursor.execute("CREATE UNIQUE INDEX ON metrics_found_pairs (a, b)")
        cursor.execute("ANALYZE metrics_found_pairs")
        found = (
            "SELECT 1 FROM metrics_found_pairs AS f"
            " WHERE f.a = p.project_a_id AND f.b = p.project_b_id"
        )
        # Changed values (or found again after being retired): written, last_run = this run.
        cursor.execute(
            f"UPDATE {table} AS p SET score = f.score, grade = f.grade,"  # noqa: S608 # nosec B608 # only the quoted table name
            " cross_unit = f.cross_unit, reasons = f.reasons, current = true,"
            " last_run_id = %s, updated_at = %s"
            " FROM metrics_found_pairs AS f"
            " WHERE p.project_a_id = f.a AND p.project_b_id = f.b AND (p.score <> f.score"
            " OR p.grade <> f.grade OR p.cross_unit <> f.cross_unit OR p.reasons <> f.reasons"
            " OR NOT p.current)",
            [run.pk, now],
        )
        updated = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} (project_a_id, project_b_id, score, grade, cross_unit, reasons,"  # noqa: S608 # nosec B608 # only the quoted table name
            " review_status, review_note, current, last_run_id, first_seen_at, updated_at)"
            " SELECT f.a, f.b, f.score, f.grade, f.cross_unit, f.reasons, %s, '', true, %s, %s, %s"
            " FROM metrics_found_pairs AS f"
            # Not `WHERE NOT EXISTS`: on a table whose statistics say empty (the first run) the
            # planner re-scans the growing table for every row, quadratic (99 s at 30k pairs).
            " ON CONFLICT (project_a_id, project_b_id) DO NOTHING",
            [OverlapPair.ReviewStatus.OPEN, run.pk, now, now],
        )
        created = cursor.rowcount
        # Not found again: reviewed pairs are kept as not current, open ones deleted. The status
        # is checked in the statements themselves, so that a pair reviewed meanwhile is kept.
        cursor.execute(
            f"UPDATE {table} AS p SET current = false, updated_at = %s"  # noqa: S608 # nosec B608 # only the quoted table name
            f" WHERE p.current AND p.review_status <> %s AND NOT EXISTS ({found})",
            [now, OverlapPair.ReviewStatus.OPEN],
        )
        cursor.execute(
            f"DELETE FROM {table} AS p WHERE p.review_status = %s AND NOT EXISTS ({found})",  # noqa: S608 # nosec B608 # only the quoted table name
            [OverlapPair.ReviewStatus.OPEN],
        )
        dropped = cursor.rowcount
        cursor.execute("DROP TABLE metrics_found_pairs")
    return {"pairs_created": created, "pairs_updated": updated, "pairs_dropped": dropped}


def _store_pairs_orm(run: MetricRun, results: Results) -> dict[str, int]:
    """The same rules on other databases (SQLite), reading the stored pairs as plain tuples."""
    fields = ("score", "grade", "cross_unit", "reasons", "current")
    existing = {
        (a, b): (pk, (score, grade, cross, reasons, current))
        for pk, a, b, score, grade, cross, reasons, current in OverlapPair.objects.values_list(
            "pk", "project_a_id", "project_b_id", *fields
        )
    }
    found: set[tuple[int, int]] = set()
    new: list[OverlapPair] = []
    changed: list[OverlapPair] = []
    for pair in results.overlaps.pairs:
        a, b, score, grade, cross, reasons = _pair_values(pair)
        key = (a, b)
        found.add(key)
        values = (score, grade, cross, reasons, True)
        row = existing.get(key)
        if row is None:
            new.append(
                OverlapPair(
                    project_a_id=a,
                    project_b_id=b,
                    last_run=run,
                    **dict(zip(fields, values, strict=True)),
                )
            )
        elif row[1] != values:
            changed.append(
                OverlapPair(pk=row[0], last_run=run, **dict(zip(fields, values, strict=True)))
            )
    OverlapPair.objects.bulk_create(new, batch_size=2000)
    now = timezone.now()
    for changed_row in changed:
        changed_row.updated_at = now
    OverlapPair.objects.bulk_update(changed, [*fields, "last_run", "updated_at"], batch_size=500)
    gone = [pk for key, (pk, _) in existing.items() if key not in found]
    # Reviewed pairs are kept as not current, open ones deleted. The status is checked in the
    # statements themselves, so that a pair reviewed while the run computed is kept.
    open_status = OverlapPair.ReviewStatus.OPEN
    OverlapPair.objects.filter(pk__in=gone, current=True).exclude(review_status=open_status).update(
        current=False, updated_at=now
    )
    dropped, _ = OverlapPair.objects.filter(pk__in=gone, review_status=open_status).delete()
    return {"pairs_created": len(new), "pairs_updated": len(changed), "pairs_dropped": dropped}


def _store_clusters(run: MetricRun, results: Results) -> None:
    """This run's clusters replace the previous runs'."""
    members = OverlapCluster.members.through
    unit_links = OverlapCluster.business_units.through
    old = OverlapCluster.objects.exclude(run=run)
    # The through rows first, each in one statement (Django deletes them without collecting
    # instances), then the few thousand clusters.
    members.objects.filter(overlapcluster__in=old.values("pk")).delete()
    unit_links.objects.filter(overlapcluster__in=old.values("pk")).delete()
    old.delete()
    units = results.facts.project_units
    rows = []
    for cluster in results.clusters:
        outside = cluster.consolidation_estimate
        rows.append(
            OverlapCluster(
                run=run,
                key=_cluster_key(cluster),
                label=(cluster.capability_label or "")[:255],
                size=cluster.size,
                unit_count=len(cluster.scope_unit_ids),
                combined_cost=Decimal(str(round(cluster.combined_cost or 0.0, 2))),
                costs_known=cluster.costs_known,
                consolidation_estimate=Decimal(str(round(outside or 0.0, 2))),
                lead_project_id=cluster.lead_project_id,
                cross_unit=cluster.cross_unit,
                hygiene=not cluster.cross_unit,
                reasons=[
                    *([f"tools: {', '.join(cluster.tools)}"] if cluster.tools else []),
                    f"cohesion {cluster.cohesion:.2f}",
                    f"annual cost known for {cluster.costs_known} of {cluster.size}",
                ],
            )
        )
    created = OverlapCluster.objects.bulk_create(rows, batch_size=1000)
    member_rows: list[tuple[int, int]] = []
    unit_rows: list[tuple[int, int]] = []
    for row, cluster in zip(created, results.clusters, strict=True):
        member_rows += [(row.pk, m) for m in cluster.member_ids]
        unit_rows += [
            (row.pk, u) for u in sorted({units[m] for m in cluster.member_ids if m in units})
        ]
    if connection.vendor == "postgresql":
        _copy_rows(members._meta.db_table, ("overlapcluster_id", "project_id"), member_rows)
        _copy_rows(unit_links._meta.db_table, ("overlapcluster_id", "businessunit_id"), unit_rows)
        return
    members.objects.bulk_create(
        [members(overlapcluster_id=c, project_id=p) for c, p in member_rows], batch_size=1000
    )
    unit_links.objects.bulk_create(
        [unit_links(overlapcluster_id=c, businessunit_id=u) for c, u in unit_rows],
        batch_size=1000,
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def snapshot_values(results: Results) -> list[tuple[str, str, float | None, dict[str, Any]]]:
    """(metric, scope, value, payload) of one run: portfolio figures, per scope unit, per goal."""
    facts = results.facts
    frag = results.fragmentation.portfolio
    align = results.alignment
    cov = results.coverage
    pairs = results.overlaps.pairs
    clusters = results.clusters
    out: list[tuple[str, str, float | None, dict[str, Any]]] = []

    def add(metric: str, value: float | None, scope: str = "portfolio", **payload: Any) -> None:
        out.append((metric, scope, value, payload))

    add("projects", len(facts.projects))
    add("overlap.pairs", len(pairs))
    add("overlap.cross_unit_pairs", sum(p.cross_unit for p in pairs))
    add("overlap.duplicates", sum(p.grade == OverlapPair.Grade.DUPLICATE for p in pairs))
    add("clusters.count", len(clusters))
    add("clusters.cross_unit", sum(c.cross_unit for c in clusters))
    add("clusters.hygiene", sum(not c.cross_unit for c in clusters))
    add(
        "clusters.consolidation_estimate",
        round(sum(c.consolidation_estimate or 0.0 for c in clusters), 2),
    )
    add(
        "hygiene.findings",
        len(results.overlaps.hygiene),
        findings=[
            {"kind": h.kind, "scope_unit": h.scope_unit_id, "projects": list(h.project_ids)}
            for h in results.overlaps.hygiene[:50]
        ],
    )
    add("fragmentation.share_in_multi_unit_clusters", frag.share_in_multi_unit_clusters)
    add("fragmentation.share_in_multi_unit_groups", frag.share_in_multi_unit_groups)
    add("fragmentation.multi_unit_groups", frag.multi_unit_groups)
    add("fragmentation.mean_effective_efforts", frag.mean_effective_efforts)
    add(
        "fragmentation.spend_outside_lead",
        round(frag.spend_outside_lead, 2),
        groups=[
            {
                "key": g.key,
                "label": g.label,
                "units": g.units,
                "projects": len(g.project_ids),
                "effective_efforts": g.effective_efforts,
                "distinct_tools": g.distinct_tools,
                "spend_outside_lead": g.spend_outside_lead,
            }
            for g in results.fragmentation.groups
            if g.units >= 2
        ][:25],
    )
    add("alignment.share_projects_aligned", align.share_projects_aligned)
    add("alignment.share_spend_aligned", align.share_spend_aligned)
    add("alignment.projects_without_goal", len(align.projects_without_goal))
    add("alignment.goals_without_projects", len(align.goals_without_projects))
    add("alignment.suggestions", len(results.suggestions))
    add("coverage.share_with_current_assessment", cov.share_with_current_assessment)
    add("coverage.share_high_tier_controls_met", cov.share_high_tier_controls_met)
    add("coverage.open_reviews", cov.open_reviews)
    add("coverage.overdue_reviews", cov.overdue_reviews)
    add("coverage.median_days_to_decision", cov.median_days_to_decision)
    add("coverage.unsanctioned_tool_projects", len(cov.unsanctioned_tool_project_ids))
    add("coverage.prohibited_tool_projects", len(cov.prohibited_tool_project_ids))
    add("coverage.projects_without_owner", len(cov.projects_without_owner))

    # Per scope unit: the figures the unit dashboards trend.
    by_scope: dict[int, list[int]] = defaultdict(list)
    for p in facts.projects:
        by_scope[p.scope_unit_id].append(p.id)
    aligned = {p.id for p in facts.projects if p.goal_ids}
    current = {g.project_id for g in facts.governance if g.assessment_current}
    unsanctioned = set(cov.unsanctioned_tool_project_ids)
    for unit in results.fragmentation.units:
        scope = f"unit:{unit.scope_unit_id}"
        ids = by_scope.get(unit.scope_unit_id, [])
        add("projects", unit.projects, scope)
        add(
            "fragmentation.share_in_multi_unit_clusters",
            unit.share_in_multi_unit_clusters,
            scope,
        )
        add("fragmentation.shared_capability_groups", unit.shared_capability_groups, scope)
        add(
            "alignment.share_projects_aligned",
            _share(len(aligned.intersection(ids)), len(ids)),
            scope,
        )
        add(
            "coverage.share_with_current_assessment",
            _share(len(current.intersection(ids)), len(ids)),
            scope,
        )
        add("coverage.unsanctioned_tool_projects", len(unsanctioned.intersection(ids)), scope)
    for goal in align.goals:
        stage_mix = {stage or "unknown": count for stage, count in goal.stage_mix}
        add(
            "alignment.goal_projects",
            len(goal.project_ids),
            f"goal:{goal.goal_id}",
            spend=goal.spend,
            stages=stage_mix,
        )
    return out


def _store_snapshots(run: MetricRun, results: Results, day: dt.date) -> int:
    """One MetricSnapshot per (metric, scope, day), written as an upsert on that key."""
    rows = [
        MetricSnapshot(metric=m, scope=s, date=day, value=float(v), payload=payload, run=run)
        for m, s, v, payload in snapshot_values(results)
        if v is not None
    ]
    MetricSnapshot.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["metric", "scope", "date"],
        update_fields=["value", "payload", "run"],
    )
    return len(rows)


def _store_index(run: MetricRun, results: Results, data: bytes | None) -> None:
    """The run's similarity index (`data`: its bytes); older ones than the newest few go."""
    if results.index is None or data is None:
        return
    if connection.vendor == "postgresql":
        # COPY sends the ~30 MB at 100k projects as it is; an INSERT would quote it as text.
        _copy_rows(
            SimilarityIndexBlob._meta.db_table,
            ("run_id", "data", "project_count", "built_through", "created_at"),
            [(run.pk, data, len(results.index), results.facts.read_at, timezone.now())],
        )
    else:
        SimilarityIndexBlob.objects.create(
            run=run,
            data=data,
            project_count=len(results.index),
            built_through=results.facts.read_at,
        )
    keep = list(
        SimilarityIndexBlob.objects.order_by("-built_through", "-id").values_list("pk", flat=True)[
            :KEEP_INDEXES
        ]
    )
    SimilarityIndexBlob.objects.exclude(pk__in=keep).delete()


def _store_suggestions(results: Results) -> int:
    """Suggested alignments where the project has none with that goal yet (never overwrites a
    confirmed or rejected one); one audit event (actor: system) per suggestion."""
    if not results.suggestions:
        return 0
    existing = set(GoalAlignment.objects.values_list("project_id", "goal_id"))
    names = {p.id: (p.name, p.unit_id) for p in results.facts.projects}
    goals = dict(StrategicGoal.objects.values_list("id", "title"))
    fresh = [
        s
        for s in results.suggestions
        if (s.project_id, s.goal_id) not in existing and s.goal_id in goals
    ]
    alive = set(
        Project.objects.filter(
            pk__in=[s.project_id for s in fresh], archived_at__isnull=True
        ).values_list("pk", flat=True)
    )
    rows = []
    for s in fresh:
        if s.project_id not in alive:
            continue
        alignment_row = GoalAlignment(
            project_id=s.project_id,
            goal_id=s.goal_id,
            status=GoalAlignment.Status.SUGGESTED,
            strength=Decimal(str(round(min(1.0, max(0.0, s.score)), 3))),
            rationale=f"Suggested by the metrics run ({s.score:.2f}): {s.rationale}",
        )
        # In-memory relations so that the audit event needs no query per row.
        name, unit_id = names[s.project_id]
        alignment_row.project = Project(pk=s.project_id, name=name, business_unit_id=unit_id)
        alignment_row.goal = StrategicGoal(pk=s.goal_id, title=goals[s.goal_id])
        rows.append(alignment_row)
    created = GoalAlignment.objects.bulk_create(rows, batch_size=500)
    AuditEvent.objects.bulk_create(
        [
            audit.build_event(
                actor=None,
                action="alignment.suggested",
                target=row,
                changes={
                    "goal": {"before": None, "after": row.goal_id},
                    "status": {"before": None, "after": row.status},
                    "strength": {"before": None, "after": str(row.strength)},
                    "rationale": {"before": None, "after": row.rationale},
                },
                business_unit=row.project.business_unit_id,
            )
            for row in created
        ],
        batch_size=500,
    )
    return len(created)


class RunNotRunning(RuntimeError):
    """The run was marked failed (or removed) while it computed; its results are dropped."""


def store(
    run: MetricRun,
    results: Results,
    *,
    seconds: float,
    stages: dict[str, float] | None = None,
) -> MetricRun:
    """Store every result of the run and mark it succeeded, all in one transaction.

    `seconds` is the time the run took before storing; the run's `counts` get the whole time
    (`seconds`) and the time of each stage (`stage_seconds`: facts, compute, then each store
    step), which the command prints and the pipeline benchmark reports."""
    day = timezone.localdate(results.facts.read_at)
    timings = dict(stages or {})
    started = time.monotonic()

    def timed(name: str, step: Any, *args: Any) -> Any:
        begun = time.monotonic()
        value = step(*args)
        timings[name] = round(time.monotonic() - begun, 2)
        return value

    # The index is serialised (compressed: seconds at 100k) in a thread while the database
    # writes the pairs; zlib and the database driver release the GIL, so the two overlap.
    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        # The run row stays locked until the results are stored: a run marked failed meanwhile
        # (abandoned for lack of heartbeat, or its task delivered again) stores nothing, so two
        # deliveries of one task can never both write results.
        status = (
            MetricRun.objects.select_for_update()
            .filter(pk=run.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status != MetricRun.Status.RUNNING:
            raise RunNotRunning(
                f"metrics run {run.pk} is {status or 'gone'}, no longer running: "
                "its results are not stored"
            )
        index_bytes = pool.submit(results.index.to_bytes) if results.index is not None else None
        counts: dict[str, Any] = {
            "projects": len(results.facts.projects),
            "pairs": len(results.overlaps.pairs),
            "cross_unit_pairs": sum(p.cross_unit for p in results.overlaps.pairs),
            "clusters": len(results.clusters),
            "cross_unit_clusters": sum(c.cross_unit for c in results.clusters),
            "hygiene_clusters": sum(not c.cross_unit for c in results.clusters),
            "hygiene_findings": len(results.overlaps.hygiene),
        }
        counts.update(timed("store_pairs", _store_pairs, run, results))
        timed("store_clusters", _store_clusters, run, results)
        counts["snapshots"] = timed("store_snapshots", _store_snapshots, run, results, day)
        data = timed("index_bytes_wait", index_bytes.result) if index_bytes is not None else None
        timed("store_index", _store_index, run, results, data)
        counts["suggestions_created"] = timed("store_suggestions", _store_suggestions, results)
        timings["store"] = round(time.monotonic() - started, 2)
        counts["seconds"] = round(seconds + time.monotonic() - started, 2)
        counts["stage_seconds"] = {k: round(v, 2) for k, v in timings.items()}
        MetricRun.objects.filter(pk=run.pk).update(
            status=MetricRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            progress=100,
            counts=counts,
        )
    logger.info("metrics run %s stored; stage seconds %s", run.pk, counts["stage_seconds"])
    run.refresh_from_db()
    return run


# --- Runs ----------------------------------------------------------------------------------------


def _start_run(*, kind: str, scheduled_for: dt.date | None, task_id: str) -> MetricRun | None:
    """A new running run; None when the scheduled day already has its run."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return MetricRun.objects.create(
                kind=kind,
                status=MetricRun.Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                scheduled_for=scheduled_for,
                task_id=task_id[:64],
                parameters={"scheduled_for": scheduled_for.isoformat() if scheduled_for else None},
            )
    except IntegrityError:
        return None


def metrics_compute(
    *, kind: str = MetricRun.Kind.FULL, scheduled_for: dt.date | None = None, task_id: str = ""
) -> MetricRun:
    """One metrics run: lock, read, compute, store (see the module docstring).

    A run of a scheduled day that already has one returns that run and computes nothing. When
    another run holds the lock the run is recorded as skipped. On failure the run is marked
    failed with the error, previous results stay as they were, and the error is raised again
    (so that a task retries transient database errors).
    """
    if kind not in MetricRun.Kind.values:
        raise ValueError(f"unknown metric run kind: {kind}")
    run = _start_run(kind=kind, scheduled_for=scheduled_for, task_id=task_id)
    if run is None:
        existing = MetricRun.objects.filter(kind=kind, scheduled_for=scheduled_for).exclude(
            status=MetricRun.Status.SKIPPED
        )
        return existing.get()
    if not lock_acquire(run):
        MetricRun.objects.filter(pk=run.pk).update(
            status=MetricRun.Status.SKIPPED,
            finished_at=timezone.now(),
            error="Another metrics run was in progress.",
        )
        run.refresh_from_db()
        return run
    started = time.monotonic()
    try:
        facts = metrics_selectors.portfolio_facts()
        read = time.monotonic()
        _progress(run, 10)
        results = compute(facts, run)
        computed = time.monotonic()
        stages = {"facts": read - started, "compute": computed - read}
        return store(run, results, seconds=computed - started, stages=stages)
    except Exception as exc:  # recorded on the run, then raised again
        logger.exception("metrics run %s failed", run.pk)
        # A failed scheduled run gives its day back, so that a retry or catch-up may run it. A
        # run already marked failed by recovery keeps the reason recovery gave.
        MetricRun.objects.filter(pk=run.pk, status=MetricRun.Status.RUNNING).update(
            status=MetricRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:4000],
            scheduled_for=None,
        )
        raise
    finally:
        lock_release(run)


def metrics_compute_if_changed(*, task_id: str = "") -> MetricRun | None:
    """Run (incremental kind) when anything the metrics read changed after the start of the
    last successful run, or when there never was one and projects exist; else do nothing."""
    last = metrics_selectors.last_successful_run()
    if last is None:
        if not metrics_selectors.active_projects().exists():
            return None
    elif not metrics_selectors.changed_since(last.started_at):
        return None
    return metrics_compute(kind=MetricRun.Kind.INCREMENTAL, task_id=task_id)


def metrics_snapshot_day(*, day: dt.date, task_id: str = "") -> MetricRun | None:
    """The daily snapshot, catching up a missed nightly run: computed once per day, never twice.

    Nothing happens when a run of that day already succeeded (the nightly full run, or an
    earlier snapshot); a snapshot run of the day is unique (`metricrun_one_per_scheduled_day`).
    Only today can be computed (the facts are today's); an older day is reported as missed.
    """
    runs = MetricRun.objects.filter(status=MetricRun.Status.SUCCEEDED).filter(
        Q(scheduled_for=day) | Q(started_at__date=day, kind__in=metrics_selectors.RESULT_KINDS)
    )
    if runs.filter(kind__in=[MetricRun.Kind.FULL, MetricRun.Kind.SNAPSHOT]).exists():
        return None
    if day != timezone.localdate():
        logger.warning("metrics snapshot of %s missed: only today's can be computed", day)
        return None
    return metrics_compute(kind=MetricRun.Kind.SNAPSHOT, scheduled_for=day, task_id=task_id)


def metrics_run_request(*, actor: Actor) -> OutboxMessage:
    """A person asks for a full run now (reviewers and admins): queued through the outbox."""
    if not roles.is_reviewer(actor):  # type: ignore[arg-type]
        raise PermissionDenied("Only reviewers and admins may start a metrics run.")
    with transaction.atomic():
        return task_queue.enqueue("governance.compute_metrics")


def metrics_schedule_incremental() -> OutboxMessage | None:
    """Queue an incremental run unless one was queued in the last debounce window (a DB marker:
    the outbox row itself), so a burst of writes queues one run. The beat task
    `governance.compute_metrics_if_changed` does the same without any caller."""
    window = timezone.now() - dt.timedelta(seconds=debounce_seconds())
    if OutboxMessage.objects.filter(task_name=INCREMENTAL_TASK, created_at__gte=window).exists():
        return None
    return task_queue.enqueue(INCREMENTAL_TASK)


# --- Pair reviews --------------------------------------------------------------------------------

REVIEWABLE = (OverlapPair.ReviewStatus.CONFIRMED, OverlapPair.ReviewStatus.DISMISSED)


@transaction.atomic
def overlap_pair_review(
    *, actor: Actor, pair: OverlapPair, status: str, note: str = ""
) -> OverlapPair:
    """A reviewer confirms the overlap or dismisses it; a dismissed pair stays dismissed when the
    next runs find it again."""
    if not roles.is_reviewer(actor):  # type: ignore[arg-type]
        raise PermissionDenied("Only reviewers may confirm or dismiss an overlap.")
    if status not in REVIEWABLE:
        raise ValidationError({"status": f"Choose one of: {', '.join(REVIEWABLE)}."})
    locked = OverlapPair.objects.select_for_update().get(pk=pair.pk)
    before = {"review_status": locked.review_status, "review_note": locked.review_note}
    locked.review_status = status
    locked.review_note = note
    locked.reviewed_by = actor if actor is not None and actor.is_authenticated else None  # type: ignore[assignment]
    locked.reviewed_at = timezone.now()
    locked.save(
        update_fields=["review_status", "review_note", "reviewed_by", "reviewed_at", "updated_at"]
    )
    audit.record(
        actor=actor,
        action="overlap_pair.reviewed",
        target=locked,
        changes=audit.diff(before, {"review_status": status, "review_note": note}),
    )
    return locked


def run_summary(run: MetricRun) -> str:
    """One line for the command and logs."""
    c: Counter[str] = Counter({k: v for k, v in (run.counts or {}).items() if isinstance(v, int)})
    seconds = (run.counts or {}).get("seconds", 0.0)
    return (
        f"{run.kind} run {run.pk} {run.status}: {c['projects']} projects, {c['pairs']} pairs "
        f"({c['cross_unit_pairs']} across units), {c['clusters']} clusters "
        f"({c['cross_unit_clusters']} cross-unit, {c['hygiene_clusters']} hygiene), "
        f"{c['suggestions_created']} goal suggestions, {seconds:.1f} s"
    ) + _stage_text((run.counts or {}).get("stage_seconds"))


def ordered_stages(stages: object) -> list[tuple[str, float]]:
    """A run's `stage_seconds` in pipeline order (the stored JSON keeps no order)."""
    if not isinstance(stages, dict):
        return []
    rank = {name: i for i, name in enumerate(STAGES)}
    return sorted(stages.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _stage_text(stages: object) -> str:
    ordered = ordered_stages(stages)
    if not ordered:
        return ""
    return " (" + ", ".join(f"{name} {value:.1f} s" for name, value in ordered) + ")"
