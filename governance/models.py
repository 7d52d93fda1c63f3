"""Judgement on the registry: risk assessments, reviews, frameworks, controls and their status."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from governance import risk
from portfolio.models import Project

Tier = Project.RiskTier


def validate_answers(value: Any) -> None:
    try:
        risk.answers_from_mapping(value)
    except risk.InvalidAnswers as exc:
        raise ValidationError(
            [f"{key}: {message}" for key, message in exc.errors.items()], code="bad_answers"
        ) from exc


def validate_tiers(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("A list of tiers is expected.", code="bad_tiers")
    unknown = sorted(set(value) - set(Tier.values))
    if unknown:
        raise ValidationError(f"Unknown tier(s): {', '.join(unknown)}.", code="bad_tiers")


class RiskAssessment(models.Model):
    """One filled-in questionnaire and what the rules made of it. Every assessment is kept."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="risk_assessments")
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="risk_assessments",
    )
    answers = models.JSONField(
        validators=[validate_answers], help_text="The questionnaire answers (governance.risk)."
    )
    eu_tier = models.CharField("EU AI Act tier", max_length=16, choices=Tier.choices)
    high_impact = models.BooleanField("high-impact (OMB M-25-21)", default=False)
    rule = models.CharField(max_length=100, help_text="Code of the rule that decided the tier.")
    rationale = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="assessment_latest_idx"),
            # The high-impact assessments (compliance counts which projects' newest one is).
            models.Index(
                fields=["project", "-created_at", "-id"],
                condition=Q(high_impact=True),
                name="assessment_high_impact_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment #{self.pk} of {self.project}: {self.eu_tier}"


class Review(models.Model):
    """One pass of a project through the workflow; a re-submission starts a new pass (cycle)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        REJECTED = "rejected", "Rejected"

    OPEN = (Status.SUBMITTED, Status.IN_REVIEW)
    DECISIONS = (
        Status.APPROVED,
        Status.APPROVED_WITH_CONDITIONS,
        Status.CHANGES_REQUESTED,
        Status.REJECTED,
    )

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    cycle = models.PositiveIntegerField(default=1, help_text="1 for the first pass, then 2, …")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.SUBMITTED)
    tier = models.CharField("tier at submission", max_length=16, choices=Tier.choices, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_reviews",
    )
    submitted_at = models.DateTimeField()
    submission_note = models.TextField(blank=True)
    due_date = models.DateField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reviews",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decided_reviews",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "cycle"], name="review_unique_cycle"),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["submitted", "in_review"]),
                name="review_one_open_per_project",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "submitted",
                        "in_review",
                        "approved",
                        "approved_with_conditions",
                        "changes_requested",
                        "rejected",
                    ]
                ),
                name="review_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["submitted", "in_review"]) | Q(decided_at__isnull=False),
                name="review_decided_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="review_queue_idx"),
            models.Index(fields=["project", "-decided_at"], name="review_project_decided_idx"),
            # The review queue's order (selectors.ReviewQueue): open reviews by due date.
            models.Index(
                fields=["due_date", "id"],
                include=["project", "reviewer"],
                condition=Q(status__in=["submitted", "in_review"]),
                name="review_open_due_idx",
            ),
            # A reviewer's reviews by due date (the `reviewer` filter, "assigned to me").
            models.Index(fields=["reviewer", "due_date", "id"], name="review_reviewer_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Review {self.cycle} of {self.project} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ReviewComment(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_comments",
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="comment_not_empty")]

    def __str__(self) -> str:
        return f"Comment #{self.pk} on {self.review}"


class ReviewCondition(models.Model):
    """A condition of an approval: something the project team must do, by a date."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="conditions")
    text = models.TextField()
    due_date = models.DateField(null=True, blank=True)
    met = models.BooleanField(default=False)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conditions_marked_met",
    )
    met_at = models.DateTimeField(null=True, blank=True)
    met_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="condition_not_empty"),
            models.CheckConstraint(
                condition=Q(met=False) | Q(met_at__isnull=False), name="condition_met_has_time"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Framework(models.Model):
    """A catalogue of obligations or practices (EU AI Act, NIST AI RMF, ISO/IEC 42001, OMB)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=255)
    version = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    url = models.URLField("source", blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Control(models.Model):
    """One obligation, subcategory or control of a framework, in our own short words."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="controls")
    identifier = models.CharField(max_length=50)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    applies_to_tiers = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_tiers],
        help_text='Risk tiers the control applies to, e.g. ["high", "limited"].',
    )
    high_impact_only = models.BooleanField(
        default=False, help_text="Applies only to projects assessed high-impact (OMB M-25-21)."
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["framework__position", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "identifier"], name="control_unique_identifier"
            )
        ]

    def __str__(self) -> str:
        return f"{self.identifier} {self.title}"

    def applies_to(self, *, tier: str, high_impact: bool) -> bool:
        return tier in self.applies_to_tiers and (high_impact or not self.high_impact_only)


class ControlStatus(models.Model):
    """Where a project stands on one control, with the evidence and who said so when."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        MET = "met", "Met"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="control_statuses")
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="statuses")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    evidence_url = models.URLField("evidence link", max_length=1000, blank=True)
    note = models.TextField("evidence or note", blank=True)
    justification = models.TextField(
        blank=True, help_text="Why the control does not apply (required for not applicable)."
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="control_statuses_set",
    )
    set_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "control statuses"
        ordering = ["project_id", "control_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "control"], name="control_status_unique"),
            models.CheckConstraint(
                condition=~Q(status="not_applicable") | ~Q(justification=""),
                name="control_status_na_justified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.control.identifier}: {self.status}"


# --- Metric results ------------------------------------------------------------------------------


class MetricRun(models.Model):
    """One computation of the portfolio metrics; also the lock that keeps two runs apart."""

    class Kind(models.TextChoices):
        FULL = "full", "Full recomputation"
        INCREMENTAL = "incremental", "Incremental (recent changes)"
        SNAPSHOT = "snapshot", "Daily snapshot"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (another run was in progress)"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    counts = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    scheduled_for = models.DateField(
        null=True, blank=True, help_text="The day a scheduled run stands for (catch-up once)."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "status", "-started_at"], name="metricrun_kind_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False) & ~Q(status="skipped"),
                name="metricrun_one_per_scheduled_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"


class MetricLock(models.Model):
    """One row per metric kind, locked (select_for_update nowait) while a run of it is going."""

    name = models.CharField(max_length=32, unique=True)
    holder = models.ForeignKey(MetricRun, null=True, blank=True, on_delete=models.SET_NULL)
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class OverlapPair(models.Model):
    """Two projects that overlap, as the latest run found them; reviewers confirm or dismiss."""

    class Grade(models.TextChoices):
        DUPLICATE = "duplicate", "Duplicate"
        OVERLAPPING = "overlapping", "Overlapping"
        COMPLEMENTARY = "complementary", "Complementary"

    class ReviewStatus(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"

    # No single-column indexes of their own: project_a leads overlap_pair_unique, project_b has
    # overlap_pair_b_idx, and every index slows the metrics run's writes (docs/metrics-engine.md).
    project_a = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    project_b = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    score = models.FloatField()
    grade = models.CharField(max_length=16, choices=Grade.choices)
    cross_unit = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # read only with its pair; deleting a user scans the pairs once
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    last_run = models.ForeignKey(
        MetricRun, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    current = models.BooleanField(
        default=True, help_text="Found by the latest run (reviewed pairs are kept when not)."
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project_a", "project_b"], name="overlap_pair_unique"),
            models.CheckConstraint(
                condition=Q(project_a__lt=models.F("project_b")), name="overlap_pair_ordered"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1), name="overlap_pair_score_0_1"
            ),
        ]
        indexes = [
            models.Index(fields=["project_b"], name="overlap_pair_b_idx"),
            models.Index(fields=["current", "cross_unit", "-score"], name="overlap_pair_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.project_a_id} ~ {self.project_b_id} ({self.grade}, {self.score:.2f})"


# Largest saving first; without one (costs not known), the most units, then the largest.
CLUSTER_ORDERING = ("-consolidation_estimate", "-unit_count", "-size", "id")


class OverlapCluster(models.Model):
    """A group of overlapping projects from one run, with its consolidation case."""

    run = models.ForeignKey(MetricRun, on_delete=models.CASCADE, related_name="clusters")
    key = models.CharField(max_length=64, help_text="Stable across runs for the same members.")
    label = models.CharField(max_length=255)
    members = models.ManyToManyField(Project, related_name="overlap_clusters")
    business_units = models.ManyToManyField(
        "portfolio.BusinessUnit", related_name="overlap_clusters"
    )
    size = models.PositiveIntegerField(default=0)
    unit_count = models.PositiveIntegerField(default=0)
    combined_cost = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="Sum of the known annual costs."
    )
    costs_known = models.PositiveIntegerField(
        default=0, help_text="Members with a known annual cost (0: the cost is not known)."
    )
    consolidation_estimate = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    lead_project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cross_unit = models.BooleanField(default=False)
    hygiene = models.BooleanField(
        default=False, help_text="Duplicates inside one unit (registry hygiene)."
    )
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = list(CLUSTER_ORDERING)
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="overlap_cluster_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.size} projects)"


class MetricSnapshot(models.Model):
    """A metric's value for one scope on one day, for trends (idempotent by metric/scope/date)."""

    metric = models.CharField(max_length=64)
    scope = models.CharField(max_length=128, help_text='"portfolio", "unit:<id>", "goal:<id>" …')
    date = models.DateField()
    value = models.FloatField()
    payload = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(MetricRun, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["metric", "scope", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "scope", "date"], name="metric_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric}[{self.scope}] {self.date}: {self.value}"


class SimilarityIndexBlob(models.Model):
    """The prebuilt similar-project index of a run (bytes from `SimilarityIndex.to_bytes`)."""

    run = models.OneToOneField(MetricRun, on_delete=models.CASCADE, related_name="index")
    data = models.BinaryField()
    project_count = models.PositiveIntegerField(default=0)
    built_through = models.DateTimeField(
        help_text="Projects changed after this are added to the index when it is loaded."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"index of run {self.run_id} ({self.project_count} projects)"


# --- Notifications -------------------------------------------------------------------------------


class WebhookEndpoint(models.Model):
    """An outbound webhook (Slack, Teams, Jira …): events are POSTed as HMAC-signed JSON."""

    class Event(models.TextChoices):
        PROJECT_REGISTERED = "project.registered", "Project registered"
        PROJECT_UPDATED = "project.updated", "Project updated"
        REVIEW_DECIDED = "review.decided", "Review decided"

    name = models.CharField(max_length=255)
    url = models.URLField(max_length=1000)
    secret = models.CharField(max_length=255, help_text="Key of the X-Maestro-Signature HMAC.")
    events = models.JSONField(default=list, help_text="Event names delivered to this endpoint.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt's outcome (the delivery log)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    event_id = models.UUIDField()
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_pending_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.status})"


class DailyJobRun(models.Model):
    """A daily beat job's run for one day: the key that lets it run once whether beat sent it on
    time or the catch-up sent it after downtime (`governance.recovery`)."""

    job = models.CharField(max_length=64, help_text="The beat entry's name.")
    day = models.DateField()
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    outcome = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-day", "job"]
        constraints = [
            models.UniqueConstraint(fields=["job", "day"], name="dailyjobrun_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.job} of {self.day}"
