"""The soak on a planted market where the forecasters have a real edge, short: small LSTM + Transformer
trained on 5m bars with a planted mean reversion, then 6 h of later, unseen bars replayed through the bar
loop against the loopback exchange with broker faults and a 30% gap down after 3 h, every high-tier signal
sent through the apprise notifier (json://) to a loopback receiver. (``scripts/soak_planted.py`` is the
72-hour run with the models trained through the registry.)"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cappuccino_core.config.notify import NotifyConfig, TargetConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.supervised_set import build_supervised
from cappuccino_core.supervised.fit import pick_device
from cappuccino_core.supervised.pipeline import train_kind
from cappuccino_core.supervised.soak import crash_hour_when_long, model_tables, soak
from cappuccino_core.supervised.synthetic import planted_frames
from cappuccino_core.supervised.tracking import SupervisedModel
from tests.unit.notify.receiver import receiver

TICKERS = ("BTC/USDT", "ETH/USDT")
TRAIN, WARM, HOURS = 2400, 400, 6


def _settings(settings):
    """5m bars of the two coins; fees 0.1% and the backtest's slippage equal to the loopback venue's half
    spread (1 bp), so live and backtest fill at the same prices."""
    up = {
        "data": settings.data.model_copy(update={"tickers": list(TICKERS), "timeframe": "5m"}),
        "costs": settings.costs.model_copy(
            update={"maker_fee": 0.001, "taker_fee": 0.001, "slippage_bps": 1.0, "slippage_vol_mult": 0.0}
        ),
        "risk": settings.risk.model_copy(update={"max_trades_per_day": 200}),
    }
    return settings.model_copy(update=up)


@pytest.fixture(scope="module")
def planted():
    """The planted 5m market and two small forecasters trained on its older bars."""
    frames = planted_frames(
        TRAIN + 288 + WARM + HOURS * 12, TICKERS, strength=0.1, vol=0.004, reversion=0.8, seed=7,
        bar=timedelta(minutes=5),
    )  # fmt: skip
    from cappuccino_core.config.features import FeaturesConfig

    cfg = SupervisedConfig(epochs=5)  # the configured sizes, 5 epochs (fewer: no high-tier forecast)
    sup = build_supervised({k: v.head(TRAIN) for k, v in frames.items()}, FeaturesConfig(), cfg, "5m",
                           fit_end=1600)  # fmt: skip
    dev = pick_device("cpu")
    models = [
        SupervisedModel(k, train_kind(k, sup, cfg, device=dev, score_test=False).models, sup.spec)
        for k in ("lstm", "transformer")
    ]
    return {k: v.tail(WARM + HOURS * 12) for k, v in frames.items()}, models  # unseen: a day after training


def test_planted_soak_trades_halts_after_the_gap_and_notifies(settings, planted, monkeypatch) -> None:
    unseen, models = planted
    with receiver() as rx:
        monkeypatch.setenv("CAPPUCCINO_TEST_SOAK_HOOK", rx.url("soak"))
        notify = NotifyConfig(
            targets=[TargetConfig(name="rx", kind="json", url_env="CAPPUCCINO_TEST_SOAK_HOOK")],
            rate_limit=2, timeout_s=2.0,
        )  # fmt: skip
        s = _settings(settings)
        crash = crash_hour_when_long(s, model_tables(models), unseen, hours=HOURS, not_before=2)
        rep = soak(s, model_tables(models), hours=HOURS, crash_hour=crash, fault_every=6, notify=notify,
                   frames=unseen)  # fmt: skip
        received = list(rx.received)
    assert rep["bars_replayed"] == 72 and rep["faults_injected"] == 12 and rep["broker_errors"] == 0
    assert rep["signals"] > 0 and rep["orders"] > 0 and rep["round_trips"] > 0
    assert rep["signals_by_tier"]["signal"] + rep["signals_by_tier"]["high"] == rep["signals"]
    # the gap hit an account long both coins: the prop-firm guard halted at that bar's close, no buy after
    gap = datetime.fromisoformat(rep["crash_time"])  # the open of the gap-down bar
    assert rep["prop_firm_halt_time"] == (gap + timedelta(minutes=5)).isoformat()  # halted at its close
    assert rep["buys_after_breach_same_day"] == 0
    # every high-tier signal was delivered to the receiver or recorded as not sent, and why
    out = rep["notifications"]
    assert rep["high_tier_signals"] > 0 and sum(out.values()) == rep["high_tier_signals"]
    assert set(out) <= {"sent", "rate_limited", "deduplicated"}
    assert out.get("sent", 0) == len(received) > 0
    assert all(r["body"]["title"].startswith("High-tier signal") for r in received)
    # at most 2 sent per (replayed) hour, the rest rate limited (each bar and asset is its own key: no dedupe)
    assert out["sent"] <= 2 * HOURS and out.get("rate_limited", 0) == rep["high_tier_signals"] - out["sent"]
    # live and backtest: the same round trips at the same prices (deterministic at this size)
    assert rep["round_trips"] == rep["backtest_round_trips"]
    assert rep["win_rate"] == pytest.approx(rep["backtest_win_rate"], abs=1e-9)
