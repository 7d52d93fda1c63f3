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


def _print_settings(names: str, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s;"
        f"print(*[repr(getattr(s, n)) for n in {names.split()!r}], sep='|')"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_smtp_and_base_url_from_environment():
    result = _print_settings(
        "EMAIL_HOST EMAIL_PORT EMAIL_HOST_USER EMAIL_HOST_PASSWORD EMAIL_USE_TLS MAESTRO_BASE_URL",
        EMAIL_HOST="smtp.example.org",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="maestro",
        EMAIL_HOST_PASSWORD="s3cret",
        EMAIL_USE_TLS="true",
        MAESTRO_BASE_URL="https://maestro.example.org/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "'smtp.example.org'",
        "587",
        "'maestro'",
        "'s3cret'",
        "True",
        "'https://maestro.example.org'",
    ]


def test_tls_and_ssl_together_are_refused():
    result = _print_settings("EMAIL_USE_TLS", EMAIL_USE_TLS="true", EMAIL_USE_SSL="true")
    assert result.returncode != 0
    assert "EMAIL_USE_TLS or EMAIL_USE_SSL, not both" in result.stderr


def test_dotenv_fills_what_the_environment_does_not_set(tmp_path, monkeypatch):
    from config.dotenv import load_dotenv

    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\nMAESTRO_T_A=from-file\nMAESTRO_T_B='quoted'\nnot a setting\n"
        "MAESTRO_T_C=from-file\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MAESTRO_T_C", "from-environment")
    for name in ("MAESTRO_T_A", "MAESTRO_T_B"):
        monkeypatch.delenv(name, raising=False)

    load_dotenv(env_file)

    assert os.environ["MAESTRO_T_A"] == "from-file"
    assert os.environ["MAESTRO_T_B"] == "quoted"
    assert os.environ["MAESTRO_T_C"] == "from-environment"
    for name in ("MAESTRO_T_A", "MAESTRO_T_B"):
        monkeypatch.delenv(name)


def test_gunicorn_settings_read_dotenv(tmp_path):
    # gunicorn loads its settings file by path: a copy of config/ beside its own .env
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "__init__.py").write_text("")
    for name in ("gunicorn.conf.py", "dotenv.py"):
        (tmp_path / "config" / name).write_text((ROOT / "config" / name).read_text())
    (tmp_path / ".env").write_text("GUNICORN_BIND=127.0.0.1:8123\nWEB_CONCURRENCY=3\n")
    code = (
        "import runpy; c = runpy.run_path('config/gunicorn.conf.py');print(c['bind'], c['workers'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"GUNICORN_BIND", "WEB_CONCURRENCY"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["127.0.0.1:8123", "3"]
