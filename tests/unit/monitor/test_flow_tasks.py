"""The flow-side helpers of the monitor: target URLs from Prefect Secret blocks (else the environment), and
the feature-drift statistics of the newest bars against the training window on the bundled sample."""

from __future__ import annotations

import pytest

from cappuccino_core.config.notify import TargetConfig


class _Block:
    def __init__(self, value: str) -> None:
        self.value = value

    def get(self) -> str:
        return self.value


def test_secret_block_first_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks import system

    from tasks.notify import prefect_resolver

    blocks = {"ops-url": _Block("json://127.0.0.1:9/from-block")}

    def load(name: str) -> _Block:
        if name not in blocks:
            raise ValueError(f"no block {name}")
        return blocks[name]

    monkeypatch.setattr(system.Secret, "load", staticmethod(load))
    monkeypatch.setenv("OPS_URL", "json://127.0.0.1:9/from-env")
    assert prefect_resolver(
        TargetConfig(name="a", kind="json", secret_block="ops-url", url_env="OPS_URL")
    ) == ("json://127.0.0.1:9/from-block")
    missing = TargetConfig(name="b", kind="json", secret_block="gone", url_env="OPS_URL")
    assert prefect_resolver(missing) == "json://127.0.0.1:9/from-env"


def test_dataset_drift_names_ticker_and_feature() -> None:
    import numpy as np

    from cappuccino_core.env.toy import toy_dataset
    from tasks.monitor import dataset_drift

    ds = toy_dataset(1200, 2, 2, 4, seed=5)
    ds.features[900:, 1, 0] += 3.0  # the second asset's first feature shifts in the newest 300 bars
    stats = dataset_drift(ds, int(ds.times[800]), 300, "psi")  # PSI needs a few hundred rows to be quiet
    assert stats is not None and len(stats) == 4
    names = [f"{t}:{f}" for t in ds.tickers for f in ds.spec.feature_names]
    shifted = names[2]
    assert max(stats, key=stats.__getitem__) == shifted and stats[shifted] > 1.0
    assert all(stats[n] < 0.25 for n in names if n != shifted)
    assert dataset_drift(ds, int(ds.times[5]), 300, "ks") is None  # < 10 training rows: no verdict
    assert np.isfinite(list(dataset_drift(ds, None, 300, "ks").values())).all()
