"""Trial bodies that misbehave on purpose (run in the trial child process, so importable by path)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from cappuccino_core.training.guards import NonFiniteError


def ok(emit: Any, n: int = 3) -> str:
    for i in range(n):
        emit({"split": i, "value": float(i)})
    return "done"


def raise_error(emit: Any) -> None:
    emit({"split": 0, "value": 0.0})
    raise RuntimeError("injected failure")


def non_finite(emit: Any) -> None:
    raise NonFiniteError("reward", "injected nan")


def allocate(emit: Any, mb: int = 1500, hold_s: float = 30.0) -> None:
    blocks = []
    for _ in range(mb // 100):
        blocks.append(np.ones(100 * 1024 * 1024 // 8))  # touched pages: real RSS
        time.sleep(0.02)
    time.sleep(hold_s)


def sleep(emit: Any, seconds: float = 60.0) -> None:
    time.sleep(seconds)


def hard_exit(emit: Any) -> None:
    os._exit(7)


def report_pid(emit: Any, seconds: float = 60.0) -> None:
    emit({"pid": os.getpid()})
    time.sleep(seconds)


def nan_rewards_after(venv: Any, steps: int = 10) -> Any:
    """Wrap an SB3 VecEnv so its rewards turn NaN after ``steps`` steps (a diverging config)."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class NanAfter(VecEnvWrapper):
        def __init__(self) -> None:
            super().__init__(venv)
            self.n = 0

        def reset(self) -> Any:
            return self.venv.reset()

        def step_wait(self) -> Any:
            obs, rew, done, info = self.venv.step_wait()
            self.n += 1
            if self.n > steps:
                rew = rew * np.nan
            return obs, rew, done, info

    return NanAfter()


def train_with_nan_rewards(job: dict, emit: Any) -> Any:
    """The real trial body with an env whose rewards turn NaN: must end PRUNED (non_finite)."""
    from cappuccino_core.training import envs, trainer

    real = envs.make_train_env
    envs.make_train_env = lambda *a, **k: nan_rewards_after(real(*a, **k))  # type: ignore[assignment]
    return trainer.train_trial(job, emit)


def train_then_raise(job: dict, emit: Any) -> Any:
    """Raises inside training (after the first split would start)."""
    raise RuntimeError("injected failure in training")


def train_over_memory(job: dict, emit: Any) -> Any:
    return allocate(emit, mb=1500, hold_s=60)


def train_slowly(job: dict, emit: Any) -> Any:
    """The real trial body, each split slowed down: a worker can be killed mid-trial."""
    from cappuccino_core.training import trainer

    real = trainer.score_split

    def slow(*a: Any, **k: Any) -> Any:
        time.sleep(float(os.environ.get("CAPPUCCINO_TEST_SPLIT_SLEEP", "3")))
        return real(*a, **k)

    trainer.score_split = slow  # type: ignore[assignment]
    return trainer.train_trial(job, emit)


FAULTS = {
    "ok": "train_trial",
    "raise": "train_then_raise",
    "nan": "train_with_nan_rewards",
    "memory": "train_over_memory",
    "timeout": "train_forever",
}


def train_forever(job: dict, emit: Any) -> Any:
    return sleep(emit, seconds=3600)


def dispatch(job: dict, emit: Any) -> Any:
    """The n-th trial child (in start order) runs fault n of $CAPPUCCINO_TEST_FAULTS (comma-separated
    names from FAULTS); the counter lives in $CAPPUCCINO_TEST_FAULTS_DIR (one worker: a fixed order)."""
    names = os.environ["CAPPUCCINO_TEST_FAULTS"].split(",")
    folder = os.environ["CAPPUCCINO_TEST_FAULTS_DIR"]
    n = len(os.listdir(folder))
    with open(os.path.join(folder, f"{n:04d}"), "x"):
        pass
    name = names[n % len(names)]
    if name == "ok":
        from cappuccino_core.training import trainer

        return trainer.train_trial(job, emit)
    return globals()[FAULTS[name]](job, emit)
