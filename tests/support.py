"""Small test helpers shared by several test modules."""

from __future__ import annotations

import os

import pytest


def service_missing(reason: str) -> None:
    """Skip a test whose real service (PostgreSQL, Redis, Chromium, Node) is not available.

    Under CI=true a missing service is a failure, never a silent skip.
    """
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service missing under CI=true: {reason}")
    pytest.skip(reason)
