"""Settings for the test suite: the normal settings with faster hashing and a test outbox."""

import os

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, DATABASES, REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Dashboard counts follow every change at once in tests (tests of the bounded freshness set it).
PORTFOLIO_COUNTS_MAX_AGE = 0
SIMILAR_INDEX_MAX_AGE = 0

# Tests always run Celery tasks in-process, except the integration tests, which start a real
# worker on Redis (MAESTRO_TEST_BROKER_URL) against the test database.
CELERY_BROKER_URL = ""
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a worker process can share the test database.
    # One file per test run, so that parallel runs on one machine do not share it.
    (BASE_DIR / "var").mkdir(exist_ok=True)  # a fresh checkout has no var/ yet
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")
    }
