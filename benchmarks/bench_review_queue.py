"""The review queue at scale: the review desk page and the review APIs, at 100,000 projects
(10,000 with --quick), plus the compliance roll-up's query count.

Targets (issue "Governance"): the review queue (filters, sorted by due date) p95 ≤ 80 ms
server-side; compliance share per unit × framework computed in ≤ 5 queries.

The portfolio is loaded through `import_inventory` as in bench_api.py. Then, because submitting
and deciding 100,000 reviews one by one through the services (one transaction, one audit event
and one notification each) would take longer than the whole benchmark budget, the governance
state is written in bulk, consistent with what the services write:

- a risk assessment per project (92 %) from a handful of questionnaire profiles, decided by the
  real rules (`governance.risk.assess`); the project's tier is the assessment's tier;
- a review for about 65 % of assessed projects: 45 % open (submitted, or in review with one of
  ten reviewers), 20 % decided (approved, with conditions, changes requested, rejected), decided
  up to two years ago so that approved high-tier projects come due for their yearly re-review;
  due dates follow the tier from a submission in the last 60 days (so part of the queue is
  overdue), and the project's review status is the review's;
- met control statuses for one assessed project in ten, so the compliance shares are not zero.

Then, signed in as a reviewer, each mix of filters is requested N times (100; 30 with --quick,
fewer when a mix's time budget runs out) with Django's test Client: the time around
`client.get` is the server-side time. Reported per mix: p50, p95 (target ≤ 80 ms), the SQL
queries of one request; and the queries of `compliance_by_unit` per framework and with the
sub-unit roll-up (target ≤ 5).

Point MAESTRO_BENCH_DATABASE_URL at a database that already holds the generated portfolio (e.g.
a copy of the 100k template) to skip the import; the governance state is seeded once (a database
that already has reviews is used as it is).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import harness  # benchmarks/ is on sys.path: the scripts run as files
from generate import generate

SEED = 3
TARGET_P95_MS = 80
TARGET_COMPLIANCE_QUERIES = 5
REVIEWERS = 10
BATCH = 5_000

# (share of assessed projects, questionnaire answers)
PROFILES: tuple[tuple[float, dict], ...] = (
    (0.38, {}),
    (0.12, {"interacts_with_people": True}),
    (0.10, {"generates_synthetic_content": True}),
    (0.08, {"annex_iii_areas": ["employment"]}),
    (0.06, {"annex_iii_areas": ["essential_services"], "profiles_natural_persons": True}),
    (
        0.06,
        {
            "annex_iii_areas": ["essential_services"],
            "principal_basis_for_decisions": True,
            "omb_effect_areas": ["critical_services"],
        },
    ),
    (0.05, {"annex_iii_areas": ["law_enforcement"]}),
    (0.05, {"annex_i_safety_component": True}),
    (0.05, {"annex_iii_areas": ["education"], "narrow_procedural_task": True}),
    (0.03, {"annex_iii_areas": ["biometrics"], "interacts_with_people": True}),
    (0.02, {"social_scoring": True}),
)


def _load(size: int) -> bool:
    from portfolio.models import Project

    have = Project.objects.count()
    if have >= size:
        harness.note(f"the database already holds {have} projects: import skipped")
        return True
    with tempfile.TemporaryDirectory(prefix="maestro-bench-") as directory:
        path = generate(size, 1, Path(directory) / f"portfolio-{size}.csv")
        run = harness.manage(
            "import_inventory", "--format", "omb-2024", "--skip-invalid", str(path), timeout=1800
        )
    if run.exit_code != 0:
        harness.fail("review_queue_setup", f"import failed: {harness.tail(run.stderr)}")
        return False
    harness.note(f"imported {size} generated projects in {run.seconds:.0f} s")
    return True


def _reviewers() -> list:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from portfolio import roles

    group = Group.objects.get_or_create(name=roles.REVIEWER)[0]
    users = []
    for i in range(REVIEWERS):
        name = "bench-reviewer" if i == 0 else f"bench-reviewer-{i:02d}"
        user, _ = get_user_model().objects.get_or_create(
            username=name, defaults={"email": f"{name}@bench.invalid"}
        )
        user.groups.add(group)
        users.append(user)
    return users


def _seed(reviewers: list, rng: random.Random) -> None:
    """Assessments, reviews and control statuses in bulk (see the module docstring)."""
    from django.db.models import OuterRef, Subquery
    from django.utils import timezone

    from governance import risk
    from governance.models import Control, ControlStatus, Review, ReviewCondition, RiskAssessment
    from governance.selectors import review_due_days
    from portfolio.models import Project

    decisions = []
    for _, answers in PROFILES:
        parsed = risk.answers_from_mapping(answers)
        decisions.append((risk.answers_to_mapping(parsed), risk.assess(parsed)))
    weights = [share for share, _ in PROFILES]
    ids = list(Project.objects.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    today = timezone.localdate()

    with harness.stopwatch() as elapsed:
        assessed: dict[int, tuple[str, bool]] = {}
        rows = []
        for pk in ids:
            if rng.random() < 0.08:
                continue
            document, decision = decisions[rng.choices(range(len(PROFILES)), weights)[0]]
            assessed[pk] = (decision.tier.value, decision.high_impact)
            rows.append(
                RiskAssessment(
                    project_id=pk,
                    answers=document,
                    eu_tier=decision.tier.value,
                    high_impact=decision.high_impact,
                    rule=decision.rule,
                    rationale=decision.rationale,
                )
            )
        RiskAssessment.objects.bulk_create(rows, batch_size=BATCH)
        newest = RiskAssessment.objects.filter(project_id=OuterRef("pk")).order_by(
            "-created_at", "-id"
        )
        Project.objects.filter(pk__in=Subquery(RiskAssessment.objects.values("project_id"))).update(
            risk_tier=Subquery(newest.values("eu_tier")[:1])
        )
    harness.note(f"{len(rows)} risk assessments and project tiers in {elapsed[0]:.0f} s")

    with harness.stopwatch() as elapsed:
        reviews = []
        project_status: dict[str, list[int]] = defaultdict(list)
        for pk, (tier, _) in assessed.items():
            draw = rng.random()
            if draw >= 0.65:
                continue
            submitted_at = now - dt.timedelta(days=rng.uniform(0, 60))
            review = Review(
                project_id=pk,
                cycle=1,
                tier=tier,
                submitted_at=submitted_at,
                due_date=timezone.localdate(submitted_at)
                + dt.timedelta(days=review_due_days(tier)),
            )
            if draw < 0.25:
                review.status = Review.Status.SUBMITTED
                if rng.random() < 0.3:
                    review.reviewer = rng.choice(reviewers)
                    review.assigned_at = submitted_at
            elif draw < 0.45:
                review.status = Review.Status.IN_REVIEW
                review.reviewer = rng.choice(reviewers)
                review.assigned_at = review.started_at = submitted_at + dt.timedelta(hours=4)
            else:
                decided_at = now - dt.timedelta(days=rng.uniform(1, 730))
                review.submitted_at = decided_at - dt.timedelta(days=rng.uniform(1, 20))
                review.due_date = timezone.localdate(review.submitted_at) + dt.timedelta(
                    days=review_due_days(tier)
                )
                review.status = rng.choices(
                    [
                        Review.Status.APPROVED,
                        Review.Status.APPROVED_WITH_CONDITIONS,
                        Review.Status.CHANGES_REQUESTED,
                        Review.Status.REJECTED,
                    ],
                    [0.55, 0.2, 0.15, 0.1],
                )[0]
                review.reviewer = review.decided_by = rng.choice(reviewers)
                review.decided_at = decided_at
                review.decision_note = "Decided in bulk by the benchmark."
            reviews.append(review)
            project_status[review.status].append(pk)
        Review.objects.bulk_create(reviews, batch_size=BATCH)
        for status, pks in project_status.items():
            for start in range(0, len(pks), BATCH):
                Project.objects.filter(pk__in=pks[start : start + BATCH]).update(
                    review_status=status
                )
        conditions = [
            ReviewCondition(review=r, text="Publish the model card.", due_date=today)
            for r in reviews
            if r.status == Review.Status.APPROVED_WITH_CONDITIONS
        ]
        ReviewCondition.objects.bulk_create(conditions, batch_size=BATCH)
    counts = {str(status): len(pks) for status, pks in sorted(project_status.items())}
    harness.note(f"{len(reviews)} reviews {counts} in {elapsed[0]:.0f} s")

    with harness.stopwatch() as elapsed:
        controls = list(Control.objects.all())
        statuses = []
        for pk, (tier, high_impact) in assessed.items():
            if rng.random() >= 0.1:
                continue
            applicable = [c for c in controls if c.applies_to(tier=tier, high_impact=high_impact)]
            for control in rng.sample(applicable, min(5, len(applicable))):
                statuses.append(
                    ControlStatus(
                        project_id=pk,
                        control=control,
                        status=ControlStatus.Status.MET,
                        note="Evidence on file (benchmark).",
                        set_at=now,
                    )
                )
        ControlStatus.objects.bulk_create(statuses, batch_size=BATCH)
    harness.note(f"{len(statuses)} met control statuses in {elapsed[0]:.0f} s")


def _largest_agency() -> tuple[int, str]:
    """The top-level unit with the most projects under it: (id, code)."""
    from django.db.models import Count

    from portfolio.models import BusinessUnit, Project

    units = dict(BusinessUnit.objects.values_list("id", "parent_id"))
    codes = dict(BusinessUnit.objects.values_list("id", "code"))

    def root(pk: int) -> int:
        seen = set()
        while units[pk] is not None and pk not in seen:
            seen.add(pk)
            pk = units[pk]
        return pk

    totals: dict[int, int] = defaultdict(int)
    for row in Project.objects.values("business_unit_id").annotate(n=Count("id")):
        totals[root(row["business_unit_id"])] += row["n"]
    pk = max(totals, key=lambda key: (totals[key], -key))
    return pk, codes[pk]


def _mixes(unit_id: int, unit_code: str, reviewer_id: int) -> list[tuple[str, str]]:
    queue = "/api/v1/review-queue/"
    reviews = "/api/v1/reviews/"
    desk = "/governance/reviews/"
    open_ = "status=submitted&status=in_review"
    return [
        ("queue_api_default", queue),
        ("queue_api_status", f"{queue}?status=in_review"),
        ("queue_api_tier", f"{queue}?tier=high"),
        ("queue_api_unit", f"{queue}?unit={unit_code}"),
        ("queue_api_overdue", f"{queue}?overdue=true"),
        ("queue_api_mine", f"{queue}?assigned=me"),
        ("queue_api_rereview", f"{queue}?status=rereview_due"),
        ("queue_api_combined", f"{queue}?status=in_review&tier=high&unit={unit_code}&overdue=true"),
        ("queue_api_page20", f"{queue}?page=20"),
        ("reviews_api_open_by_due", f"{reviews}?{open_}&ordering=due_date"),
        ("reviews_api_tier_by_due", f"{reviews}?{open_}&tier=high&ordering=due_date"),
        ("reviews_api_unit_by_due", f"{reviews}?{open_}&unit={unit_code}&ordering=due_date"),
        ("reviews_api_reviewer_by_due", f"{reviews}?reviewer={reviewer_id}&ordering=due_date"),
        ("desk_default", desk),
        ("desk_status", f"{desk}?status=submitted"),
        ("desk_tier", f"{desk}?tier=high&tier=prohibited"),
        ("desk_unit", f"{desk}?unit={unit_id}"),
        ("desk_mine", f"{desk}?mine=on"),
        ("desk_overdue", f"{desk}?overdue=on"),
        ("desk_combined", f"{desk}?status=in_review&tier=high&unit={unit_id}&overdue=on"),
        ("desk_page20", f"{desk}?page=20"),
    ]


def _measure(client, url: str, *, samples: int, budget_s: float) -> tuple[list[float], int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    detail = ""
    if response.get("Content-Type", "").startswith("application/json"):
        detail = f"{response.json().get('count', '?')} matching"
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    query_count = len(queries.captured_queries)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < samples and (len(times) < min(samples, 5) or time.perf_counter() < deadline):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return times, query_count, detail


def _compliance_queries(reviewer) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance import selectors
    from governance.models import Framework

    worst = 0
    runs: list[tuple[str, dict]] = [("all", {})]
    runs += [(f.code, {"framework_ids": {f.pk}}) for f in Framework.objects.order_by("position")]
    rollup = "rollup" in selectors.compliance_by_unit.__code__.co_varnames
    for name, kwargs in runs:
        variants = [("own", {})] + ([("rollup", {"rollup": True})] if rollup else [])
        for variant, extra in variants:
            with CaptureQueriesContext(connection) as queries, harness.stopwatch() as elapsed:
                rows = selectors.compliance_by_unit(user=reviewer, **kwargs, **extra)
            worst = max(worst, len(queries.captured_queries))
            harness.figure(
                f"compliance_by_unit_{name}_{variant}_queries",
                len(queries.captured_queries),
                "queries",
                target=TARGET_COMPLIANCE_QUERIES,
                note=f"{len(rows)} units, {elapsed[0] * 1000:.0f} ms",
            )
    if not rollup:
        harness.skip("compliance_by_unit_rollup", "compliance_by_unit has no roll-up yet")
    harness.figure(
        "compliance_by_unit_worst_queries", worst, "queries", target=TARGET_COMPLIANCE_QUERIES
    )


def main() -> int:
    harness.setup_django()
    from django.test import Client

    from governance.models import Review

    size = 10_000 if harness.quick() else 100_000
    samples = 30 if harness.quick() else 100
    for arg in sys.argv[1:]:  # --samples=N: fewer requests per mix (e.g. to time a slow version)
        if arg.startswith("--samples="):
            samples = max(3, int(arg.split("=", 1)[1]))
    budget_s = 6 if harness.quick() else 12
    if not _load(size):
        return 1
    reviewers = _reviewers()
    if Review.objects.exists():
        harness.note(f"the database already has {Review.objects.count()} reviews: seeding skipped")
    else:
        _seed(reviewers, random.Random(SEED))
        with harness.stopwatch() as elapsed:
            harness.analyze_database()
        harness.note(f"analyzed the database in {elapsed[0]:.0f} s")
    open_reviews = Review.objects.filter(status__in=Review.OPEN).count()
    unit_id, unit_code = _largest_agency()
    reviewer = reviewers[0]
    harness.note(
        f"{open_reviews} open reviews; unit filter {unit_code}; {samples} requests per mix, "
        f"{budget_s} s budget, signed in as {reviewer.username}"
    )

    client = Client()
    client.force_login(reviewer)
    worst = 0.0
    for name, url in _mixes(unit_id, unit_code, reviewer.pk):
        times, query_count, detail = _measure(client, url, samples=samples, budget_s=budget_s)
        p95 = harness.percentile(times, 0.95)
        worst = max(worst, p95)
        harness.figure(f"{name}_p50", harness.percentile(times, 0.5), "ms")
        harness.figure(
            f"{name}_p95",
            p95,
            "ms",
            target=TARGET_P95_MS,
            note=", ".join(filter(None, [f"n={len(times)}", detail])),
        )
        harness.figure(f"{name}_queries", query_count, "queries")
    harness.figure("review_queue_worst_p95", worst, "ms", target=TARGET_P95_MS)
    _compliance_queries(reviewer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
