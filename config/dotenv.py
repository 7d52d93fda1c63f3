"""Read a `.env` file into the process environment (never overriding what is already set).

Shared by the Django settings and by gunicorn's settings (`config/gunicorn.conf.py`), so that the
`GUNICORN_*` variables of `.env` apply as the Django ones do.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def load_dotenv(path: Path = BASE_DIR / ".env") -> None:
    """Read KEY=VALUE lines of a .env file into os.environ without overriding what is set."""
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))
