"""State store: transactions, emergency stop flag, heartbeats, audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cappuccino_core.state import StateStore
from cappuccino_core.state.schema import OrderRow


def test_emergency_stop_flag_round_trip_and_audited(tmp_path: Path) -> None:
    st = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    assert not st.emergency_stopped()
    st.set_flag("emergency_stop", True, set_by="operator", reason="drill")
    # a second process sees it: a fresh store on the same file
    assert StateStore(f"sqlite:///{tmp_path / 's.db'}").emergency_stopped()
    log = st.audit_log(subject="emergency_stop")
    assert log[0].actor == "operator" and log[0].reason == "drill"


def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    st = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), st.session() as s:
        s.add(
            OrderRow(
                client_order_id="a",
                broker="sim",
                model_run_id="r",
                bar_time=now,
                asset="BTC/USD",
                side="buy",
                qty=1.0,
                order_type="market",
                status="new",
            )
        )
        raise RuntimeError("crash between writes")
    with st.session() as s:
        assert s.get(OrderRow, "a") is None


def test_heartbeat_liveness(tmp_path: Path) -> None:
    st = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    assert not st.alive("trader", timedelta(minutes=5))
    st.beat("trader", bar="2025-01-01T00:00Z")
    assert st.alive("trader", timedelta(minutes=5))
    assert not st.alive("trader", timedelta(minutes=5), now=datetime.now(UTC) + timedelta(minutes=6))
