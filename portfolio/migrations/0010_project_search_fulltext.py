"""Full-text search on PostgreSQL: a GIN index on the words of `search_text`.

The index is on the expression that `portfolio.filters.search_projects` compares, exactly as
Django writes `SearchVector("search_text", config="simple")`, so it can never be stale: it is
derived from `search_text`, which every write path keeps. It replaces the trigram index of 0006,
which only served the substring search. SQLite (the embedded mode) keeps its substring search and
needs no index.
"""

from django.db import migrations

FULLTEXT_INDEX = (
    "CREATE INDEX IF NOT EXISTS project_search_fts_idx ON portfolio_project "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, ''::text)))"
)
TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS project_search_trgm_idx ON portfolio_project "
    "USING gin (search_text gin_trgm_ops)"
)


def fulltext_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FULLTEXT_INDEX)
    schema_editor.execute("DROP INDEX IF EXISTS project_search_trgm_idx")


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(TRIGRAM_INDEX)
    schema_editor.execute("DROP INDEX IF EXISTS project_search_fts_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0009_outbox_claim"),
    ]

    operations = [
        migrations.RunPython(fulltext_index, trigram_index),
    ]
