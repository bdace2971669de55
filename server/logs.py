"""Logging for `cobord serve`: one root handler (text or JSON lines) that redacts tokens.

uvicorn logs every WebSocket URL (`"WebSocket /ws/<board>?token=..." [accepted]`) at INFO even
with the access log off, and a facilitator token opens the exports: the handler's filter
rewrites every record's message, whichever logger it came from, before anything is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

# `token=<value>` in a query string, and `Bearer <value>` in a header that got logged.
_TOKEN = re.compile(r"(?i)(token=|bearer\s+)[^\s&\"']+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _TOKEN.sub(lambda m: m.group(1) + REDACTED, text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("board", "actor", "reason"):  # structured fields passed with `extra=`
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "info", fmt: str = "text") -> None:
    """Replace the root handlers with one redacting stderr handler; uvicorn's loggers propagate
    to it (run uvicorn with `log_config=None`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactTokens())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
