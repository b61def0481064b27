"""Kernel throughput: asset-steps per second of the batched step kernel vs a one-episode-per-step loop.

Setup: N=64 episodes x 10 assets, lookback 5, 6 features per asset, synthetic hourly data, uniform random
actions in [-1, 1], default configuration (target weights, Coinbase entry-tier taker fees, slippage, cash
reserve, position cap, minimum order value, lots), one thread (numpy/BLAS threads = 1). The kernel runs
its default path: the fused compiled step (cappuccino_core/env/step_fused.py).

Baseline, measured in the same run: the same 64 episodes stepped one at a time by a plain Python
environment in the style of FinRL_Crypto's CryptoEnvAlpaca (per-asset loops for sells then buys, fee and
minimum-quantity checks, a state vector stacked bar by bar, equal-weight-relative reward). It is written
here from that description for comparison only; it is not part of the product.

Time is this process's CPU time (time.process_time): both sides are single-threaded, so the figures and
their ratio are those of one core even when other work shares the machine. Each side is timed in three
windows, interleaved (kernel, loop, kernel, loop, ...), and the best window of each counts: other work on
the machine only ever slows a window down. The one-off compilation (or loading it from the cache) is
timed separately and printed; it is not in the rate.

Targets: ratio >= 50 and >= 1,000,000 asset-steps/s. The last line printed is a JSON object; the exit
status is 1 when a target is missed.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/env_throughput.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cappuccino_core.config.costs import CostsConfig  # noqa: E402
from cappuccino_core.config.env import EnvConfig  # noqa: E402
from cappuccino_core.env.kernel import TradingKernel  # noqa: E402
from cappuccino_core.env.toy import toy_dataset  # noqa: E402

N_EPISODES, N_ASSETS, LOOKBACK, N_FEATURES = 64, 10, 5, 6
TARGET_RATIO, TARGET_RATE = 50.0, 1_000_000.0


class LoopEnv:
    """One episode, plain Python per asset: the predecessor's way of stepping (baseline only)."""

    def __init__(self, prices, tech, lookback, cash, fee, min_value, start, length):
        self.prices, self.tech, self.lookback = prices, tech, lookback  # tech: (T, A*F)
        self.initial_cash, self.fee, self.min_value = cash, fee, min_value
        self.start, self.length = start, length
        self.n = prices.shape[1]
        self.reset()

    def reset(self):
        self.time = self.start
        self.cash = self.initial_cash
        self.stocks = np.zeros(self.n)
        p0 = self.prices[self.time]
        self.eqw_units = np.array([self.initial_cash / self.n / p0[i] for i in range(self.n)])
        self.total = self.cash
        self.total_eqw = float(np.sum(self.eqw_units * p0))
        return self.get_state()

    def step(self, actions):
        price = self.prices[self.time]
        total = self.cash + float((self.stocks * price).sum())
        qty = np.zeros(self.n)
        for i in range(self.n):  # target weight -> quantity, per asset
            target = max(float(actions[i]), 0.0) * 0.3 * total / price[i]
            qty[i] = target - self.stocks[i]
        for i in np.where(qty < 0)[0]:  # sells first
            sell = min(self.stocks[i], -qty[i])
            if sell * price[i] < self.min_value:
                continue
            self.stocks[i] -= sell
            self.cash += price[i] * sell * (1 - self.fee)
        for i in np.where(qty > 0)[0]:  # then buys, limited by cash after fees
            affordable = self.cash * 0.95 / (1 + self.fee) / price[i]
            buy = min(affordable, qty[i])
            if buy * price[i] < self.min_value:
                continue
            self.stocks[i] += buy
            self.cash -= price[i] * buy * (1 + self.fee)
        self.time += 1
        done = self.time >= self.start + self.length
        state = self.get_state()
        price = self.prices[self.time]
        next_total = self.cash + float((self.stocks * price).sum())
        next_eqw = float(np.sum(self.eqw_units * price))
        reward = (next_total / self.total - 1) - (next_eqw / self.total_eqw - 1)
        self.total, self.total_eqw = next_total, next_eqw
        return state, reward, done

    def get_state(self):
        value = self.stocks * self.prices[self.time]
        total = self.cash + float(value.sum())
        state = np.hstack((self.cash / total, value / total))
        for i in range(self.lookback):
            state = np.hstack((state, self.tech[self.time - self.lookback + 1 + i])).astype(np.float32)
        return state


def bench_kernel(data, actions, seconds: float) -> float:
    n_episodes = actions.shape[1]
    kernel = TradingKernel(data, EnvConfig(episode_length=500), CostsConfig(), n_episodes, seed=0)
    kernel.reset()
    steps, t0 = 0, time.process_time()
    while True:
        for a in actions:
            res = kernel.step(a)
            done = res.truncated | res.terminated
            if done.any():
                kernel.reset(np.flatnonzero(done))
        steps += len(actions)
        if time.process_time() - t0 > seconds:
            break
    return steps * n_episodes * N_ASSETS / (time.process_time() - t0)


def bench_loop(data, actions, seconds: float) -> float:
    tech = data.features.reshape(data.n_bars, -1)
    costs, env = CostsConfig(), EnvConfig()
    envs = [
        LoopEnv(
            data.prices, tech, LOOKBACK, env.initial_cash, costs.taker_fee, env.min_order_value, 10 + i, 500
        )
        for i in range(N_EPISODES)
    ]
    steps, t0 = 0, time.process_time()
    while True:
        for a in actions:
            for i, e in enumerate(envs):
                _, _, done = e.step(a[i])
                if done:
                    e.reset()
        steps += len(actions)
        if time.process_time() - t0 > seconds:
            break
    return steps * N_EPISODES * N_ASSETS / (time.process_time() - t0)


def main() -> None:
    data = toy_dataset(4000, N_ASSETS, N_FEATURES, LOOKBACK, seed=1)
    actions = np.random.default_rng(0).uniform(-1, 1, (200, N_EPISODES, N_ASSETS))
    t0 = time.perf_counter()
    bench_kernel(data, actions[:20], 0.0)  # compiles, or loads the compiled kernel from the cache
    first_use = time.perf_counter() - t0
    kernel_rates, loop_rates = [], []
    for _ in range(3):
        kernel_rates.append(bench_kernel(data, actions, 1.0))
        loop_rates.append(bench_loop(data, actions[:50], 1.0))
    kernel_rate, loop_rate = max(kernel_rates), max(loop_rates)
    wide = np.random.default_rng(1).uniform(-1, 1, (20, 512, N_ASSETS))
    wide_rate = bench_kernel(data, wide, 1.0)
    ratio = kernel_rate / loop_rate
    ok = bool(ratio >= TARGET_RATIO and kernel_rate >= TARGET_RATE)
    print(
        f"kernel: {kernel_rate:,.0f} asset-steps/s ({kernel_rate / N_ASSETS / N_EPISODES:,.0f} batch steps/s)"
    )
    print(f"loop baseline: {loop_rate:,.0f} asset-steps/s (ratio {ratio:.1f})")
    print(f"kernel with N=512 (for scale): {wide_rate:,.0f} asset-steps/s ({wide_rate / loop_rate:.0f}x)")
    print(
        "windows (asset-steps/s): kernel "
        + ", ".join(f"{r:,.0f}" for r in kernel_rates)
        + "; loop "
        + ", ".join(f"{r:,.0f}" for r in loop_rates)
    )
    print(f"first use (compile or load from the cache): {first_use:.1f} s, not in the rates")
    print(
        json.dumps(
            {
                "metric": "env_asset_steps_per_s",
                "value": round(kernel_rate),
                "unit": "asset-steps/s",
                "baseline": round(loop_rate),
                "ratio": round(ratio, 1),
                "target": {"ratio": TARGET_RATIO, "asset_steps_per_s": TARGET_RATE},
                "first_use_s": round(first_use, 2),
                "pass": ok,
            }
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
