"""PPO training throughput on the kernel's SB3 VecEnv, and the share of wall time spent in the env.

Setup: 10 assets, lookback 5, 6 features per asset (observation 311 floats), synthetic hourly data,
default costs and limits, SB3 PPO MlpPolicy on the CPU of a 2-core machine. torch runs ONE thread: for
these small matrices a second intra-op thread buys nothing and collapses when the other core is busy.

Settings measured (sized for the PPO update, which is the bottleneck, not the env):
    n_envs = 128 episodes in one kernel batch, n_steps = 64 -> rollouts of 8,192 env steps,
    batch_size = 1,024, n_epochs = 6 (48 minibatch updates per rollout). The kernel's cost per batch step
    hardly grows with the number of episodes, so a wide batch keeps the env's share small; the policy's
    forward pass per step is amortised the same way.
Baseline, measured in the same run: PPO defaults (n_steps 2,048, batch 64, 10 epochs) on one episode.
The env's share is the time spent inside the VecEnv's step_wait and reset over the whole learn() call.
Also printed: the rate per CPU-second of this process (what the run costs when the machine is shared).

Targets: >= 5,000 env-steps/s and env share <= 10%. The last line printed is a JSON object; the exit
status is 1 when a target is missed.
Run: .venv/bin/python benchmarks/ppo_throughput.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402

from cappuccino_core.config.costs import CostsConfig  # noqa: E402
from cappuccino_core.config.env import EnvConfig  # noqa: E402
from cappuccino_core.env.toy import toy_dataset  # noqa: E402
from cappuccino_core.env.vec_env import KernelVecEnv  # noqa: E402

N_ASSETS, LOOKBACK, N_FEATURES = 10, 5, 6
SETTINGS = {"n_envs": 128, "n_steps": 64, "batch_size": 1024, "n_epochs": 6}
TARGET_RATE, TARGET_ENV_SHARE = 5_000.0, 0.10


class TimedVecEnv(KernelVecEnv):
    """KernelVecEnv that adds up the wall time spent in step_wait and reset."""

    env_seconds = 0.0

    def step_wait(self) -> Any:
        t0 = time.perf_counter()
        out = super().step_wait()
        self.env_seconds += time.perf_counter() - t0
        return out

    def reset(self) -> Any:
        t0 = time.perf_counter()
        out = super().reset()
        self.env_seconds += time.perf_counter() - t0
        return out


def measure(n_envs: int, steps: int, **ppo: Any) -> tuple[float, float, float]:
    """(env steps per wall second of learn(), share of its wall time in the env, steps per CPU second)."""
    data = toy_dataset(20_000, N_ASSETS, N_FEATURES, LOOKBACK, seed=0)
    venv = TimedVecEnv.build(data, EnvConfig(), CostsConfig(), n_envs, seed=0)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", verbose=0, **ppo)
    model.learn(total_timesteps=n_envs * ppo.get("n_steps", 2048))  # warm-up: one rollout + update
    venv.env_seconds = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=steps, reset_num_timesteps=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return model.num_timesteps / wall, venv.env_seconds / wall, model.num_timesteps / cpu


def main() -> None:
    torch.set_num_threads(1)
    s = SETTINGS
    rate, share, cpu_rate = measure(
        s["n_envs"], 16 * s["n_envs"] * s["n_steps"], **{k: v for k, v in s.items() if k != "n_envs"}
    )
    base_rate, base_share, _ = measure(1, 2 * 2048)
    print(f"PPO on KernelVecEnv {s}: {rate:,.0f} env-steps/s, env share {share:.1%}")
    print(f"  per CPU-second of this process: {cpu_rate:,.0f} env-steps")
    print(f"PPO defaults, 1 env (baseline): {base_rate:,.0f} env-steps/s, env share {base_share:.1%}")
    ok = rate >= TARGET_RATE and share <= TARGET_ENV_SHARE
    print(
        json.dumps(
            {
                "metric": "ppo_env_steps_per_s",
                "value": round(rate),
                "unit": "env-steps/s",
                "baseline": round(base_rate),
                "ratio": round(rate / base_rate, 2),
                "env_share": round(share, 4),
                "env_steps_per_cpu_s": round(cpu_rate),
                "settings": s,
                "target": {"env_steps_per_s": TARGET_RATE, "env_share_max": TARGET_ENV_SHARE},
                "pass": bool(ok),
            }
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
