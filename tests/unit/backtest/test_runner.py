"""The backtest runner and baselines: through the kernel, against hand-known benchmarks; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.backtest.baselines import make_baseline
from cappuccino_core.backtest.runner import SB3Policy, backtest, run_episodes
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.toy import toy_dataset
from tests.env_presets import NO_BAND

FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
ALL_IN = EnvConfig(**NO_BAND, position_cap=1.0, cash_reserve=0.0)


def test_buy_and_hold_without_costs_is_the_btc_hold_benchmark() -> None:
    data = toy_dataset(300, 3, 2, 4, drift=[0.001, 0.0, -0.001], seed=5)
    res = backtest(make_baseline("buy_and_hold", data.tickers, ALL_IN), data, ALL_IN, FREE)
    assert res.equity.shape == res.times.shape == (300 - 3,)
    assert res.equity[0] == ALL_IN.initial_cash
    np.testing.assert_allclose(res.equity, res.benchmarks["btc_hold"], rtol=1e-8)  # T0 stands in for BTC
    assert res.ledger.height == 1 and res.ledger["asset"][0] == "T0/USD" and res.ledger["side"][0] == "buy"
    assert res.fees == 0.0


def test_equal_weight_without_costs_is_the_equal_weight_benchmark() -> None:
    data = toy_dataset(300, 4, 2, 3, seed=6)
    res = backtest(make_baseline("equal_weight", data.tickers, ALL_IN), data, ALL_IN, FREE)
    np.testing.assert_allclose(res.equity, res.benchmarks["equal_weight"], rtol=1e-8)
    assert res.ledger.height == 4 and set(res.ledger["side"]) == {"buy"}


def test_costs_apply_to_baselines_and_buy_and_hold_is_a_true_hold() -> None:
    """buy_and_hold is BTC bought with ALL the equity once (exempt from the 30% cap and the 5% reserve, which
    made it 30% BTC + 70% cash sold into every rally before): one fill whose cash outlay, fee included, is
    the whole account. equal_weight keeps the configured limits: min(cap 0.3, 0.95 / 3) of equity each."""
    data = toy_dataset(300, 3, 2, 4, seed=7)
    env, costs = EnvConfig(**NO_BAND), CostsConfig()  # cap 0.3, reserve 5%, Coinbase entry-tier taker fees
    res = backtest(make_baseline("buy_and_hold", data.tickers, env), data, env, costs)
    assert res.ledger.height == 1
    first = res.ledger.row(0, named=True)
    assert first["notional"] == pytest.approx(env.initial_cash / (1 + costs.taker_fee), rel=1e-9)
    assert first["fee"] == pytest.approx(costs.taker_fee * first["notional"], rel=1e-9)
    assert res.summary.trades is not None and res.summary.trades.n_fills == 1
    ew = backtest(make_baseline("equal_weight", data.tickers, env), data, env, costs)
    buys = ew.ledger.filter(ew.ledger["time"] == ew.ledger["time"][0])
    assert buys.height == 3
    np.testing.assert_allclose(buys["notional"].to_numpy(), 0.3 * env.initial_cash, rtol=0.02)
    assert ew.fees > 0 and ew.summary.trades is not None and ew.summary.trades.n_fills == ew.ledger.height


def test_random_baseline_is_seeded() -> None:
    data = toy_dataset(200, 2, 1, 3, seed=8)
    env = EnvConfig(**NO_BAND)
    a = backtest(make_baseline("random", data.tickers, env, seed=3), data, env, CostsConfig())
    b = backtest(make_baseline("random", data.tickers, env, seed=3), data, env, CostsConfig())
    c = backtest(make_baseline("random", data.tickers, env, seed=4), data, env, CostsConfig())
    assert np.array_equal(a.equity, b.equity) and not np.array_equal(a.equity, c.equity)


def test_segments_are_separate_episodes_chained() -> None:
    data = toy_dataset(200, 2, 1, 3, seed=9, segments=[(0, 80), (80, 200)])
    policy = make_baseline("equal_weight", data.tickers, ALL_IN)
    res = backtest(policy, data, ALL_IN, FREE)
    assert len(res.episodes) == 2
    assert res.times.tolist() == [*data.times[2:80].tolist(), *data.times[82:200].tolist()]
    first, second = res.episodes
    assert second.equity[0] == ALL_IN.initial_cash  # each segment starts in cash
    np.testing.assert_allclose(res.equity[78:], second.equity * first.equity[-1] / ALL_IN.initial_cash)
    np.testing.assert_allclose(res.equity, res.benchmarks["equal_weight"], rtol=1e-8)


def test_window_rows() -> None:
    data = toy_dataset(300, 2, 1, 5, seed=10)
    res = backtest(
        make_baseline("equal_weight", data.tickers, ALL_IN), data, ALL_IN, FREE, start=100, end=200
    )
    assert res.times[0] == data.times[104] and res.times[-1] == data.times[199]


def test_many_episodes_in_one_batch_equal_runs_alone() -> None:
    data = toy_dataset(300, 3, 2, 4, seed=11)
    env, costs = EnvConfig(**NO_BAND), CostsConfig()
    starts, ends = np.array([3, 50, 120]), np.array([200, 90, 299])
    together = run_episodes(make_baseline("random", data.tickers, env, 1), data, env, costs, starts, ends)
    assert [len(e.equity) for e in together] == [198, 41, 180]
    fixed = make_baseline("equal_weight", data.tickers, env)
    batch = run_episodes(fixed, data, env, costs, starts, ends)
    for i in range(3):
        alone = run_episodes(
            make_baseline("equal_weight", data.tickers, env),
            data,
            env,
            costs,
            starts[i : i + 1],
            ends[i : i + 1],
        )
        assert np.array_equal(batch[i].equity, alone[0].equity)


def test_a_policy_with_the_wrong_action_shape_is_refused() -> None:
    class Bad:
        def predict(self, obs: np.ndarray) -> np.ndarray:
            return np.zeros((obs.shape[0], 7))

    data = toy_dataset(50, 2, 1, 3)
    with pytest.raises(ValueError, match=r"shape \(1, 7\).*expected \(1, 2\)"):
        backtest(Bad(), data, EnvConfig(**NO_BAND), CostsConfig())


def test_an_sb3_model_runs_through_the_runner() -> None:
    from stable_baselines3 import PPO

    from cappuccino_core.env.vec_env import KernelVecEnv

    data = toy_dataset(120, 2, 2, 3, seed=12)
    model = PPO(
        "MlpPolicy", KernelVecEnv.build(data, EnvConfig(**NO_BAND), CostsConfig(), 2), n_steps=8, device="cpu"
    )
    res = backtest(SB3Policy(model), data, EnvConfig(**NO_BAND), CostsConfig())
    assert res.equity.shape == (118,) and np.isfinite(res.summary.sharpe)


def test_cli_backtest_writes_the_report(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cappuccino_cli.main import app

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[paths]\ndata_root = "{tmp_path / "data"}"\nsample_dir = "{sample_dir}"\n'
        '[data]\nvenue = "binance"\ntickers = ["BTC/USDT", "ETH/USDT"]\ntimeframe = "1h"\n'
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report"
    args = ["backtest", "--config", str(cfg), "--sample", "--start", "2025-05-01", "--end", "2025-06-01"]
    result = CliRunner().invoke(app, [*args, "--policy", "buy_and_hold", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["metadata"]["policy"] == "buy_and_hold" and doc["start"].startswith("2025-05-01")
    assert (out / "report.html").is_file()
    bad = CliRunner().invoke(app, [*args, "--policy", "nope"])
    assert bad.exit_code == 2 and "unknown --policy" in bad.output
    missing = CliRunner().invoke(app, [*args, "--model", str(tmp_path / "none.zip")])
    assert missing.exit_code == 2 and "does not exist" in " ".join(missing.output.split())


@pytest.mark.slow
def test_cli_backtest_loads_a_model_with_its_spec_and_refuses_other_data(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stable_baselines3 import PPO
    from typer.testing import CliRunner

    from cappuccino_cli.backtest import _dataset
    from cappuccino_cli.main import app
    from cappuccino_core.config import load_settings
    from cappuccino_core.env.vec_env import KernelVecEnv

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[paths]\ndata_root = "{tmp_path / "data"}"\nsample_dir = "{sample_dir}"\n'
        '[data]\nvenue = "binance"\ntickers = ["ETH/USDT", "BTC/USDT"]\ntimeframe = "1h"\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings(cfg)
    data = _dataset(settings, sample=True)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    venv = KernelVecEnv.build(data, settings.env, settings.costs, 2)
    PPO("MlpPolicy", venv, n_steps=8, batch_size=16).save(model_dir / "policy.zip")
    data.spec.save(model_dir / "feature_spec.json")
    args = ["backtest", "--config", str(cfg), "--sample", "--start", "2025-06-01"]
    args += ["--out", str(tmp_path / "r")]
    ok = CliRunner().invoke(app, [*args, "--model", str(model_dir / "policy.zip")])
    assert ok.exit_code == 0, ok.output
    doc = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert doc["metadata"]["spec_hash"] == data.spec.content_hash()
    assert "no env_config.json beside" in " ".join(ok.output.split())
    assert doc["metadata"]["env"]["hold_band"] == settings.env.hold_band

    # The env the model was trained with, stored beside it (as in a registered model's artifacts), is used.
    from cappuccino_core.registry.model_env import save_env

    save_env(
        settings.env.model_copy(update={"hold_band": 0.25, "decision_every": 3}),
        model_dir / "env_config.json",
    )
    trained = CliRunner().invoke(app, [*args, "--model", str(model_dir / "policy.zip")])
    assert trained.exit_code == 0, trained.output
    env = json.loads((tmp_path / "r" / "metrics.json").read_text())["metadata"]["env"]
    assert (env["hold_band"], env["decision_every"]) == (0.25, 3)
    assert env["initial_cash"] == settings.env.initial_cash

    # A spec edited after the fact fails its content hash.
    tampered = data.spec.to_dict()
    tampered["tickers"] = ["BTC/USDT", "ETH/USDT"]
    (model_dir / "feature_spec.json").write_text(json.dumps(tampered))
    refused = CliRunner().invoke(app, [*args, "--model", str(model_dir / "policy.zip")])
    assert refused.exit_code == 2 and "does not match its content" in " ".join(refused.output.split())

    # A spec whose data would give the model other observations (one bar less of lookback) is refused.
    other = data.spec.to_dict()
    other["lookback"] = data.spec.lookback - 1
    other.pop("hash")
    (model_dir / "feature_spec.json").write_text(json.dumps(other))
    refused = CliRunner().invoke(app, [*args, "--model", str(model_dir / "policy.zip")])
    assert refused.exit_code == 2 and "observes" in " ".join(refused.output.split())
