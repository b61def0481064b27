"""The turnover penalty (EnvConfig.turnover_penalty), hand-computed on a tiny path.

One asset, prices 100 -> 110 -> 121, equity 10,000, no costs (so the equity moves only with the price),
log_return reward at scale 100, penalty lam = 0.01:

- step 1 buys 50 units at 100 (target 50%): traded 5,000 = 0.5 of equity; equity 5,000 + 50 x 110 = 10,500;
  reward 100 x (log(10,500 / 10,000) - 0.01 x 0.5);
- step 2 sells 20 units at 110 (target 50 x 110 - 20 x 110 = 3,300 of 10,500): traded 2,200 / 10,500;
  equity 5,000 + 2,200 + 30 x 121 = 10,830; reward 100 x (log(10,830 / 10,500) - 0.01 x 2,200 / 10,500).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices
from tests.env_presets import NO_BAND

FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
ENV = EnvConfig(
    **NO_BAND, initial_cash=10_000.0, position_cap=1.0, cash_reserve=0.0, reward="log_return",
    turnover_penalty=0.01,
)  # fmt: skip
PRICES = [100.0, 110.0, 121.0]
ACTIONS = [0.5, 3_300.0 / 10_500.0]  # target weights (cap 1): 50%, then 30 units' worth at 110


def steps(env: EnvConfig, fused: bool) -> list[tuple[float, float]]:
    rules = None if fused else default_rules(env)
    k = TradingKernel(dataset_from_prices(PRICES), env, FREE, 1, rules=rules)
    k.reset(starts=np.array([0]), ends=np.array([len(PRICES) - 1]))
    out = []
    for a in ACTIONS:
        r = k.step(np.array([[a]]))
        out.append((float(r.reward[0]), float(r.equity[0])))
    return out


@pytest.mark.parametrize("fused", [True, False])
def test_the_penalty_charges_traded_notional_over_equity(fused: bool) -> None:
    (r1, e1), (r2, e2) = steps(ENV, fused)
    assert e1 == pytest.approx(10_500.0, rel=1e-12) and e2 == pytest.approx(10_830.0, rel=1e-9)
    assert r1 == pytest.approx(100.0 * (math.log(1.05) - 0.01 * 0.5), rel=1e-12)
    assert r2 == pytest.approx(100.0 * (math.log(10_830 / 10_500) - 0.01 * 2_200 / 10_500), rel=1e-9)


def test_the_penalty_never_touches_the_equity_and_zero_turns_it_off() -> None:
    off = ENV.model_copy(update={"turnover_penalty": 0.0})
    (r1, e1), (r2, e2) = steps(off, True)
    assert r1 == pytest.approx(100.0 * math.log(1.05), rel=1e-12)
    assert r2 == pytest.approx(100.0 * math.log(10_830 / 10_500), rel=1e-9)
    assert [e for _, e in steps(ENV, True)] == [e1, e2]


def test_a_hold_costs_nothing() -> None:
    env = ENV.model_copy(update={"hold_band": 0.1})
    k = TradingKernel(dataset_from_prices(PRICES), env, FREE, 1)
    k.reset(starts=np.array([0]), ends=np.array([2]))
    r = k.step(np.array([[0.05]]))  # inside the hold region: no order, no penalty
    assert r.reward[0] == 0.0


def test_the_penalty_must_be_a_share_in_zero_one() -> None:
    with pytest.raises(ValueError, match="turnover_penalty"):
        EnvConfig(turnover_penalty=-0.1)
