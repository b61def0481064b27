"""CGE stress throughput: a PPO MLP policy (production size, untrained: the cost is the forward pass) over
S scenarios x H hourly steps x 10 assets in ONE batched kernel run, next to the naive loop (one scenario at
a time, one model.predict per step) measured on a subset in the same run and scaled to all scenarios.

    .venv/bin/python benchmarks/stress.py [--scenarios 200] [--hours 8760] [--naive-steps 300]

Features are random (z-scored) data of the production shape: the benchmark times the stress run, not
TA-Lib. Targets: batched run <= 30 s on 2 cores, ratio (naive / batched) >= 20. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from cappuccino_core.backtest.runner import SB3Policy
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.gym_env import TradingEnv  # noqa: F401  (the SB3 view the model is built on)
from cappuccino_core.features.dataset import SOURCE_SYNTHETIC, MarketDataset
from cappuccino_core.features.spec import FeatureSpec, IndicatorSpec
from cappuccino_core.gates.stress import run_stress

TARGET_S, TARGET_RATIO = 30.0, 20.0


def dataset(s: int, h: int, a: int, f: int, lookback: int, seed: int = 0) -> MarketDataset:
    rng = np.random.default_rng(seed)
    steps = 0.01 * rng.standard_normal((s, h, a))
    steps[:, 0] = 0
    prices = (100.0 * np.exp(np.cumsum(steps, axis=1))).reshape(s * h, a)
    spec = FeatureSpec(
        tuple(f"A{i}/USD" for i in range(a)),
        "1h",
        (IndicatorSpec("given", (), tuple(f"f{j}" for j in range(f))),),
        lookback,
        0,
        "none",
    )
    times = np.tile(np.arange(h, dtype=np.int64) * 3_600_000_000_000, s) + 1_600_000_000_000_000_000
    return MarketDataset(times, prices, rng.standard_normal((s * h, a, f)).astype(np.float32), spec,
                         volatility=np.full(prices.shape, 0.005),
                         source=np.full(s * h, SOURCE_SYNTHETIC, np.uint8),
                         segments=[(i * h, (i + 1) * h) for i in range(s)])  # fmt: skip


def ppo(obs_size: int, n_assets: int):
    import gymnasium as gym
    from stable_baselines3 import PPO

    class Dummy(gym.Env):
        observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_size,), np.float32)
        action_space = gym.spaces.Box(-1.0, 1.0, (n_assets,), np.float32)

        def reset(self, *, seed=None, options=None):
            return np.zeros(obs_size, np.float32), {}

        def step(self, action):
            return np.zeros(obs_size, np.float32), 0.0, True, False, {}

    return PPO("MlpPolicy", Dummy(), policy_kwargs={"net_arch": [256, 256]}, device="cpu", seed=0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--hours", type=int, default=8760)
    ap.add_argument("--assets", type=int, default=10)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--lookback", type=int, default=5)
    ap.add_argument("--naive-scenarios", type=int, default=2)
    ap.add_argument("--naive-hours", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: no oversubscription)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env, costs = EnvConfig(), CostsConfig()
    data = dataset(args.scenarios, args.hours + args.lookback, args.assets, args.features, args.lookback)
    obs_size = 1 + args.assets + args.lookback * args.assets * args.features
    policy = SB3Policy(ppo(obs_size, args.assets))

    t0, c0 = time.perf_counter(), time.process_time()
    run = run_stress(policy, data, env, costs)
    batched, batched_cpu = time.perf_counter() - t0, time.process_time() - c0
    steps = int(run.steps.sum())

    seg_len = args.naive_hours + args.lookback
    naive = 0.0
    for i in range(args.naive_scenarios):
        s0 = data.segments[i][0]
        one = data.slice(s0, s0 + seg_len)
        t1 = time.perf_counter()
        run_stress(policy, one, env, costs)  # one scenario, one predict per step
        naive += time.perf_counter() - t1
    naive_steps = args.naive_scenarios * args.naive_hours
    naive_scaled = naive / naive_steps * steps
    ratio = naive_scaled / batched
    ok = batched <= TARGET_S and ratio >= TARGET_RATIO
    print(
        f"batched: {args.scenarios} scenarios x {args.hours} steps x {args.assets} assets "
        f"(obs {obs_size}, PPO MLP 256x256): {batched:.2f} s ({steps / batched:,.0f} scenario-steps/s)"
    )
    print(f"naive: {naive_steps} steps in {naive:.2f} s -> {naive_scaled:.0f} s scaled to {steps} steps; "
          f"ratio {ratio:.1f}x")  # fmt: skip
    print(json.dumps({"metric": "stress_batched_seconds", "value": round(batched, 3), "unit": "s",
                      "baseline": round(naive_scaled, 3), "ratio": round(ratio, 2),
                      "target": {"max_seconds": TARGET_S, "min_ratio": TARGET_RATIO}, "pass": ok,
                      "cpu_seconds": round(batched_cpu, 3),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "scenarios": args.scenarios, "hours": args.hours, "assets": args.assets}))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
