"""Settings come from the environment; production refuses to start half-configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"SECRET_KEY", "ALLOWED_HOSTS", "MAESTRO_ENV", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_development_defaults_to_sqlite_and_eager_celery():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "True"]


def test_database_and_broker_from_environment():
    result = load_settings(
        DATABASE_URL="postgres://u@db.example:5432/maestro",
        CELERY_BROKER_URL="redis://broker.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.postgresql", "False"]


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"ALLOWED_HOSTS": "maestro.example.org"}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without(env, missing):
    result = load_settings(MAESTRO_ENV="production", **env)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_with_both_starts():
    result = load_settings(
        MAESTRO_ENV="production", SECRET_KEY="x" * 60, ALLOWED_HOSTS="maestro.example.org"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_env_example_lists_every_variable_the_settings_read():
    """Django's settings and gunicorn's (config/gunicorn.conf.py, read by make serve-prod)."""
    import re

    settings_source = (ROOT / "config" / "settings.py").read_text()
    gunicorn_source = (ROOT / "config" / "gunicorn.conf.py").read_text()
    read = set(re.findall(r'env(?:_list|_int)?\("([A-Z_]+)"', settings_source))
    read |= set(re.findall(r'(?:_int|environ\.get)\("([A-Z_]+)"', gunicorn_source))
    assert {"GUNICORN_BIND", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"} <= read
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line
    }
    assert read - listed == set()
