"""Indexes of the review queue (governance.selectors.ReviewQueue) and of compliance.

- `review_open_due_idx`: open reviews in due-date order (with their project and reviewer, for
  index-only scans on PostgreSQL), so that a page of the queue is read in order and the scan
  stops at the end of the page, and counting the queue does not read the review rows;
  `review_reviewer_due_idx`: a reviewer's reviews by due date.
- `assessment_high_impact_idx`: the high-impact assessments, so that compliance finds the
  projects whose newest assessment is high-impact without reading every assessment.
- Three indexes on the project table with the columns the review lists filter on (tier, review
  status, unit, visibility, archived), so that the queue and the review API read these small
  indexes instead of the wide project rows (index-only scans on PostgreSQL):
  `governance_project_queue_idx` (current projects) leads with tier and review status (the
  yearly re-reviews due, a tier filter); `governance_project_unit_idx` leads with the unit
  (a unit filter: the unit's projects, hashed against the open reviews);
  `governance_project_review_idx` leads with the id (checking the project of each review
  against the filters). They are governance's indexes on portfolio's table, so they are
  created here with SQL and are not part of the Project model's state; PostgreSQL gets the
  covering (INCLUDE) form.
"""

from django.db import migrations, models

# name: (key columns, covered columns)
PROJECT_INDEXES = {
    "governance_project_queue_idx": (
        ["risk_tier", "review_status", "business_unit_id", "id"],
        ["visibility"],
    ),
    "governance_project_unit_idx": (
        ["business_unit_id", "id"],
        ["risk_tier", "review_status", "visibility", "archived_at"],
    ),
    "governance_project_review_idx": (
        ["id"],
        ["risk_tier", "review_status", "business_unit_id", "visibility", "archived_at"],
    ),
}
PARTIAL = {"governance_project_queue_idx"}


def create_project_indexes(apps, schema_editor):
    covering = schema_editor.connection.vendor == "postgresql"
    for name, (keys, covered) in PROJECT_INDEXES.items():
        columns = ", ".join(keys if covering else keys + covered)
        include = f" INCLUDE ({', '.join(covered)})" if covering else ""
        where = " WHERE archived_at IS NULL" if name in PARTIAL else ""
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON portfolio_project ({columns}){include}{where}"
        )


def drop_project_indexes(apps, schema_editor):
    for name in PROJECT_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_metric_results_and_webhooks"),
        ("portfolio", "0008_project_current_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="review",
            index=models.Index(
                condition=models.Q(("status__in", ["submitted", "in_review"])),
                fields=["due_date", "id"],
                include=["project", "reviewer"],
                name="review_open_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="review",
            index=models.Index(
                fields=["reviewer", "due_date", "id"], name="review_reviewer_due_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="riskassessment",
            index=models.Index(
                condition=models.Q(("high_impact", True)),
                fields=["project", "-created_at", "-id"],
                name="assessment_high_impact_idx",
            ),
        ),
        migrations.RunPython(create_project_indexes, drop_project_indexes, elidable=False),
    ]
