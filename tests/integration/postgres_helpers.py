"""The PostgreSQL server of the `postgres`-marked tests: $CAPPUCCINO_TEST_PG_URL (CI sets it after
scripts/ci_postgres.sh), or the CI default; the test skips with the reason when none answers."""

from __future__ import annotations

import os

import pytest

DEFAULT_URL = "postgresql+psycopg://cappuccino:cappuccino@127.0.0.1:5432/cappuccino"


def pg_url_or_skip() -> str:
    """A reachable PostgreSQL URL, or ``pytest.skip`` naming what is missing (the password never shown)."""
    url = os.environ.get("CAPPUCCINO_TEST_PG_URL", DEFAULT_URL)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg (v3) is not installed: pip install 'psycopg[binary]'")
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        host = url.rsplit("@", 1)[-1]
        pytest.skip(
            f"no PostgreSQL reachable at {host} (set CAPPUCCINO_TEST_PG_URL; CI runs "
            f"scripts/ci_postgres.sh): {type(exc).__name__}"
        )
    return url
