"""The one state store (SQLAlchemy; SQLite by default, PostgreSQL when configured)."""

from cappuccino_core.state.store import StateStore

__all__ = ["StateStore"]
