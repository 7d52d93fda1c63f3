"""The registry: business units, their AI projects, goals, tools, capabilities, audit trail."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

SEARCHED_FIELDS = ("name", "external_ref", "problem", "benefits", "outputs", "data_description")


def search_text_of(project: Project) -> str:
    """What full-text search matches against: the searched fields, case-folded, one per line."""
    return "\n".join(str(getattr(project, f) or "") for f in SEARCHED_FIELDS).casefold()


class BusinessUnit(models.Model):
    """An organisational unit; units form a tree (agency → bureau, division → team)."""

    name = models.CharField(max_length=255)
    code = models.CharField(max_length=64, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(code=""), name="businessunit_code_not_empty"),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="businessunit_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Lead"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    business_unit = models.ForeignKey(
        BusinessUnit, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "business_unit"], name="membership_unique_user_unit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.business_unit.code} · {self.role}"


class StrategicGoal(models.Model):
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_goals",
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="goal_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Capability(models.Model):
    """A taxonomy node ("document summarisation") that projects and tools map to."""

    name = models.CharField(max_length=255, unique=True)
    slug = models.SlugField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "capabilities"

    def __str__(self) -> str:
        return self.name


class Tool(models.Model):
    """A commercial or open AI product or model, with the names it goes by."""

    class SanctionStatus(models.TextChoices):
        APPROVED = "approved", "Approved"
        RESTRICTED = "restricted", "Restricted"
        PROHIBITED = "prohibited", "Prohibited"
        UNREVIEWED = "unreviewed", "Unreviewed"

    name = models.CharField(max_length=255, unique=True)
    vendor = models.CharField(max_length=255, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    sanction_status = models.CharField(
        max_length=16, choices=SanctionStatus.choices, default=SanctionStatus.UNREVIEWED
    )
    capabilities = models.ManyToManyField(Capability, blank=True, related_name="tools")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """An AI project or use case of a business unit."""

    class Stage(models.TextChoices):
        IDEA = "idea", "Idea"
        DEVELOPMENT = "development", "Development"
        PILOT = "pilot", "Pilot"
        PRODUCTION = "production", "Production"
        RETIRED = "retired", "Retired"

    class TopicArea(models.TextChoices):
        ADMINISTRATIVE = "administrative", "Administrative functions"
        CYBERSECURITY = "cybersecurity", "Cybersecurity"
        EMERGENCY = "emergency", "Emergency management"
        ENERGY_ENVIRONMENT = "energy_environment", "Energy and the environment"
        BENEFITS = "benefits", "Government benefits processing"
        HEALTH = "health", "Health and medical"
        HUMAN_RESOURCES = "human_resources", "Human resources"
        INFORMATION_TECHNOLOGY = "information_technology", "Information technology"
        INTERNATIONAL = "international", "International affairs"
        LAW_ENFORCEMENT = "law_enforcement", "Law enforcement and justice"
        PROCUREMENT_FINANCE = "procurement_finance", "Procurement and financial management"
        SCIENCE = "science", "Science"
        SERVICE_DELIVERY = "service_delivery", "Service delivery"
        TRANSPORTATION = "transportation", "Transportation"
        EDUCATION_WORKFORCE = "education_workforce", "Education and workforce"
        OTHER = "other", "Other"

    class Technique(models.TextChoices):
        CLASSICAL_ML = "classical_ml", "Classical / predictive ML"
        COMPUTER_VISION = "computer_vision", "Computer vision"
        GENERATIVE = "generative", "Generative AI"
        NLP = "nlp", "Natural language processing"
        AGENTIC = "agentic", "Agentic AI"
        REINFORCEMENT_LEARNING = "reinforcement_learning", "Reinforcement learning"
        OTHER = "other", "Other"

    class DevelopmentMethod(models.TextChoices):
        IN_HOUSE = "in_house", "In-house"
        VENDOR = "vendor", "Vendor"
        BOTH = "both", "In-house and vendor"

    class OmbImpact(models.TextChoices):
        NEITHER = "neither", "Neither rights- nor safety-impacting"
        RIGHTS = "rights", "Rights-impacting"
        SAFETY = "safety", "Safety-impacting"
        RIGHTS_AND_SAFETY = "rights_and_safety", "Rights- and safety-impacting"
        HIGH_IMPACT = "high_impact", "High-impact (M-25-21)"
        PRESUMED_NOT_HIGH = "presumed_not_high", "Presumed high-impact, determined not"
        NOT_HIGH = "not_high", "Not high-impact"

    class Source(models.TextChoices):
        REGISTERED = "registered", "Registered"
        IMPORTED = "imported", "Imported"
        DISCOVERED = "discovered", "Discovered"

    class RiskTier(models.TextChoices):
        PROHIBITED = "prohibited", "Prohibited"
        HIGH = "high", "High"
        LIMITED = "limited", "Limited"
        MINIMAL = "minimal", "Minimal"

    class ReviewStatus(models.TextChoices):
        NOT_SUBMITTED = "not_submitted", "Not submitted"
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        REJECTED = "rejected", "Rejected"
        CHANGES_SINCE_APPROVAL = "changes_since_approval", "Changed since approval"

    class Visibility(models.TextChoices):
        ORGANISATION = "organisation", "Whole organisation"
        RESTRICTED = "restricted", "Own unit, reviewers and executives"

    name = models.CharField(max_length=500)
    external_ref = models.CharField(
        "external reference", max_length=100, blank=True, help_text="e.g. DOJ-0357"
    )
    business_unit = models.ForeignKey(
        BusinessUnit, on_delete=models.PROTECT, related_name="projects"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_projects",
    )
    executive_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sponsored_projects",
    )
    contact_email = models.EmailField(blank=True)
    problem = models.TextField("problem it solves", blank=True)
    benefits = models.TextField("expected benefits", blank=True)
    outputs = models.TextField("system outputs", blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.IDEA)
    topic_area = models.CharField(max_length=32, choices=TopicArea.choices, blank=True)
    techniques = models.JSONField(default=list, blank=True)
    capabilities = models.ManyToManyField(Capability, blank=True, related_name="projects")
    tools = models.ManyToManyField(Tool, blank=True, related_name="projects")
    development_method = models.CharField(
        max_length=16, choices=DevelopmentMethod.choices, blank=True
    )
    involves_pii = models.BooleanField("involves personal data", null=True, blank=True)
    data_description = models.TextField(blank=True)
    demographic_features = models.JSONField(default=list, blank=True)
    omb_impact = models.CharField(
        "OMB impact classification", max_length=24, choices=OmbImpact.choices, blank=True
    )
    annual_cost = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    expected_annual_benefit = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    people_affected = models.PositiveIntegerField(null=True, blank=True)
    date_initiated = models.DateField(null=True, blank=True)
    date_implemented = models.DateField(null=True, blank=True)
    date_retired = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.REGISTERED)
    import_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="Identity of an imported row, so that re-imports update instead of duplicating.",
    )
    extra = models.JSONField(
        default=dict, blank=True, help_text="Inventory attributes that have no field of their own."
    )
    distinct_justification = models.TextField("why it differs from similar projects", blank=True)
    search_text = models.TextField(
        blank=True,
        editable=False,
        help_text="Case-folded name, reference and texts, for full-text search (kept by writes).",
    )
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, blank=True)
    review_status = models.CharField(
        max_length=32, choices=ReviewStatus.choices, default=ReviewStatus.NOT_SUBMITTED
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.ORGANISATION
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "external_ref"],
                condition=~Q(external_ref=""),
                name="project_unique_external_ref_per_unit",
            ),
            models.UniqueConstraint(
                fields=["import_key"],
                condition=~Q(import_key=""),
                name="project_unique_import_key",
            ),
            models.CheckConstraint(
                condition=Q(annual_cost__isnull=True) | Q(annual_cost__gte=0),
                name="project_annual_cost_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(expected_annual_benefit__isnull=True)
                | Q(expected_annual_benefit__gte=0),
                name="project_expected_benefit_non_negative",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="project_name_not_empty"),
            models.CheckConstraint(
                condition=Q(stage__in=["idea", "development", "pilot", "production", "retired"]),
                name="project_stage_valid",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="project_version_positive"),
        ]
        indexes = [
            models.Index(fields=["business_unit", "stage"], name="project_unit_stage_idx"),
            models.Index(fields=["stage"], name="project_stage_idx"),
            models.Index(fields=["risk_tier"], name="project_tier_idx"),
            models.Index(fields=["topic_area"], name="project_topic_idx"),
            models.Index(fields=["updated_at"], name="project_updated_idx"),
            models.Index(fields=["name", "id"], name="project_name_order_idx"),
            # A filter on stage with the default ordering reads pages straight off this index.
            models.Index(fields=["stage", "name", "id"], name="project_stage_name_idx"),
            # Lists count current (not archived) projects: an index-only count.
            models.Index(
                fields=["id"], condition=Q(archived_at__isnull=True), name="project_current_idx"
            ),
            models.Index(
                fields=["stage", "id"],
                condition=Q(archived_at__isnull=True),
                name="project_current_stage_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("portfolio:project-detail", kwargs={"pk": self.pk})

    def refresh_search_text(self) -> None:
        """Recompute `search_text` from the searched fields (call before saving)."""
        self.search_text = search_text_of(self)


class GoalAlignment(models.Model):
    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alignments")
    goal = models.ForeignKey(StrategicGoal, on_delete=models.CASCADE, related_name="alignments")
    strength = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=1,
        help_text="How strongly the project serves the goal, from 0 to 1.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUGGESTED)
    rationale = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["goal__title", "project__name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "goal"], name="alignment_unique_pair"),
            models.CheckConstraint(
                condition=Q(strength__gte=0) & Q(strength__lte=1), name="alignment_strength_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} → {self.goal} ({self.status})"


class AuditEvent(models.Model):
    """One write of one service: who did what to which object, with the before/after diff."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=500, blank=True)
    business_unit = models.ForeignKey(
        BusinessUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The project the event concerns (itself, or its assessment, review, alignment, control…),
    # so that a project's history shows governance steps too.
    project = models.ForeignKey(
        "Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_repr}"
        )


class ImportJob(models.Model):
    """An inventory file imported in the background (upload page), with its progress and report."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        REJECTED = "rejected", "Rejected (invalid rows, nothing written)"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
    )
    format = models.CharField(max_length=32)
    original_name = models.CharField(max_length=255)
    # The file itself: web and workers share only the database and the broker.
    content = models.BinaryField()
    skip_invalid = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.format}, {self.status})"

    @property
    def progress_percent(self) -> int:
        if self.status in {self.Status.SUCCEEDED, self.Status.REJECTED}:
            return 100
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class OutboxMessage(models.Model):
    """A background job recorded in the same transaction as the write that asked for it.

    Dispatched to the broker after commit; when the broker is down the row stays pending and the
    periodic `portfolio.flush_outbox` task (or `manage.py flush_outbox`) sends it later.
    """

    task_name = models.CharField(max_length=100)
    args = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(dispatched_at__isnull=True),
                name="outbox_pending_idx",
            )
        ]

    def __str__(self) -> str:
        state = "dispatched" if self.dispatched_at else "pending"
        return f"{self.task_name}{tuple(self.args)} ({state})"


class ToolAdoption(models.Model):
    """A business unit's use of a tool for a task (e.g. the OMB commercial-AI list), registered
    project or not: the basis of the shadow-AI view."""

    business_unit = models.ForeignKey(
        BusinessUnit, on_delete=models.CASCADE, related_name="tool_adoptions"
    )
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="adoptions")
    task = models.CharField(max_length=500, help_text="What the tool is used for.")
    estimated_users = models.CharField(max_length=64, blank=True, help_text='A band, e.g. "1-100".')
    raw_name = models.CharField(
        max_length=500, blank=True, help_text="The product name as the source spelled it."
    )
    source = models.CharField(max_length=64, blank=True, help_text='e.g. "omb-2025-cots".')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["business_unit__name", "tool__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_unit", "tool", "task"], name="tool_adoption_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.business_unit.code} uses {self.tool} for {self.task[:40]}"
