"""The risk manager runs inside the kernel as it does live: it sees every fill and every episode reset."""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices
from cappuccino_core.trading.risk.manager import RiskManager
from tests.env_presets import NO_BAND

# Bought at 100 on bar 0, then a 15% fall on bar 1: the 10% stop-loss must sell. Only the fill says the entry
# was 100 (a rule that never saw the fill would take the current 85 as the entry and hold).
PRICES = [100.0] + [85.0] * 9


def _run(risk: list | None) -> np.ndarray:
    data = dataset_from_prices(PRICES)
    env = EnvConfig(**NO_BAND, cash_reserve=0.0, position_cap=0.3, episode_length=9)
    costs = CostsConfig(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
    k = TradingKernel(data, env, costs, n_episodes=1, rules=default_rules(env, risk=risk), seed=0)
    k.reset(starts=np.array([0]), ends=np.array([9]))
    holdings = []
    for _ in range(9):
        k.step(np.array([[1.0]]))  # always wants the full 30% position
        holdings.append(float(k.holdings[0, 0]))
    return np.array(holdings)


def test_stop_loss_fires_in_the_kernel_from_fill_entry_price() -> None:
    only_stop = {
        "take_profit": None,
        "portfolio_trailing_stop": None,
        "daily_loss_limit": None,
        "prop_max_daily_loss": None,
        "prop_max_total_loss": None,
    }
    rm = RiskManager.from_config(RiskConfig(stop_loss=0.10, **only_stop))
    with_risk = _run([rm])
    without = _run(None)
    assert without[1] > 0  # no risk manager: the position is still held after the fall
    assert with_risk[0] > 0  # bought at 100
    assert with_risk[1] == 0.0  # the first bar at 85 (-15% from the 100 entry): stopped out


def test_episode_reset_clears_risk_state() -> None:
    rm = RiskManager.from_config(RiskConfig())
    data = dataset_from_prices(PRICES)
    env = EnvConfig(**NO_BAND, cash_reserve=0.0, episode_length=3)
    k = TradingKernel(data, env, CostsConfig(), n_episodes=2, rules=default_rules(env, risk=[rm]), seed=0)
    k.reset(starts=np.array([0, 0]), ends=np.array([3, 3]))
    k.step(np.ones((2, 1)))
    assert rm.state is not None and rm.state.entry[0, 0] > 0
    k.reset(idx=np.array([0]), starts=np.array([0]), ends=np.array([3]))
    assert rm.state.entry[0, 0] == 0
    assert rm.state.entry[1, 0] > 0  # the other episode keeps its state
