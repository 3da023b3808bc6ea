"""How the web process is served (gunicorn.conf.py reads these): how many processes and threads.

``WEB_CONCURRENCY`` defaults to one process per core when ``REDIS_URL`` is set, since Redis carries
the live feed and the rate limit across processes then, and to one process on the embedded
default, where the live feed lives inside the one process. ``WEB_THREADS`` defaults to 32.
"""
from __future__ import annotations

import os


class ServingSettingInvalid(ValueError):
    pass


def _count(environ, name: str, default: int, most: int) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise ServingSettingInvalid(f"setting {name} is {raw!r}: it must be a whole number from 1 to {most}")
    return value


def web_concurrency(environ=os.environ) -> int:
    default = (os.cpu_count() or 1) if environ.get("REDIS_URL") else 1
    return _count(environ, "WEB_CONCURRENCY", default, 256)


def web_threads(environ=os.environ) -> int:
    return _count(environ, "WEB_THREADS", 32, 1024)
