"""Settings of the benchmarks: the normal settings with DEBUG off, as in production.

`MAESTRO_ENV=production` would also switch to the manifest static-files storage, which needs
`collectstatic` to have run; the benchmarks leave the working tree alone, so they keep the plain
storage, and WhiteNoise serves the static files from their source folders (its finders) instead
of STATIC_ROOT, so that a browser benchmark (bench_panel.py) gets the pages' scripts. DEBUG off
matters for the figures: with DEBUG on, Django keeps the SQL of the last 9,000 queries in memory
and the import's memory peak would be measured with that log in it.
"""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

DEBUG = False
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
