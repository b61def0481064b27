"""Supervised forecasters: training throughput, inference latency for 10 assets, and the known answer.

1. Throughput (10 assets, hourly, the planted market below): training samples per second of the LSTMs
   (one per coin, summed over coins) and of the Transformer; inference latency of one decision (all 10
   assets at one bar: 10 LSTM forwards, one Transformer forward), median of 50 calls, CPU unless CUDA.
2. Known answer (``cappuccino_core.supervised.synthetic.planted_frames``): each bar's next return has a
   drift of +-0.8 sigma set by the hour of day, so direction is predictable from the session features with
   a best possible accuracy of Phi(0.8) = 0.79. The oracle (the planted rule itself) is scored on the same
   test labels: the baseline. On the planted market both kinds must pass the accuracy (>= 68% per coin,
   lower Wilson bound above the majority rate) and calibration (<= 0.05) checks of the supervised gate; on a
   random walk (no drift) they must fail the accuracy check with the accuracy inside its Wilson interval
   around 50% (the interval contains 0.5).

The last line is a JSON verdict (metric, value, unit, baseline, ratio, target, pass); the line before it
the details. Exit status 1 when a target is missed.

Run: .venv/bin/python benchmarks/supervised.py            (full: 3 coins x 2400 bars, ~1 min on one core)
     .venv/bin/python benchmarks/supervised.py --small    (2 coins x 1200 bars, ~15 s)
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core: small torch ops lose to thread barriers on a shared machine

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cappuccino_core.config.features import FeaturesConfig  # noqa: E402
from cappuccino_core.config.gates import GatesConfig  # noqa: E402
from cappuccino_core.config.supervised import SupervisedConfig  # noqa: E402
from cappuccino_core.features.supervised_set import SupervisedData, build_supervised  # noqa: E402
from cappuccino_core.supervised.fit import Samples, pick_device  # noqa: E402
from cappuccino_core.supervised.pipeline import KINDS, gate_kind, train_kind  # noqa: E402
from cappuccino_core.supervised.synthetic import planted_frames  # noqa: E402

STRENGTH = 0.8
GATE_CHECKS = ("accuracy[", "accuracy_ci_low[", "calibration_error")


def data_for(n_bars: int, n_assets: int, strength: float, seed: int, cfg: SupervisedConfig) -> SupervisedData:
    """Features and labels of a planted (or, at strength 0, random-walk) market."""
    tickers = [f"C{i:02d}/USD" for i in range(n_assets)]
    frames = planted_frames(n_bars, tickers, strength=strength, seed=seed)
    return build_supervised(
        frames, FeaturesConfig(), cfg, "1h", fit_end=int(n_bars * (1 - cfg.val_share - cfg.test_share))
    )


def oracle_accuracy(data: SupervisedData, rows: list[np.ndarray], labels: list[np.ndarray]) -> float:
    """Accuracy of the planted rule (up iff the bar opens in UTC hours 0-11) on the scored labels."""
    hours = (data.times // 3_600_000_000_000) % 24
    hits = sum(int(np.sum((hours[r] < 12) == (y == 1))) for r, y in zip(rows, labels, strict=True))
    return hits / sum(len(y) for y in labels)


def throughput(cfg: SupervisedConfig, n_bars: int, device: torch.device) -> dict[str, Any]:
    data = data_for(n_bars, 10, STRENGTH, 11, cfg)
    one = cfg.model_copy(update={"epochs": 1, "patience": 1})
    out: dict[str, Any] = {"assets": 10, "bars": data.n_bars, "device": device.type}
    samples = Samples.from_data(data, device)
    t = data.n_bars - 1
    for kind in KINDS:
        res = train_kind(kind, data, one, device=device, score_test=False)
        seen = sum(f.samples_seen for f in res.fits)
        out[f"{kind}_train_samples_per_s"] = seen / sum(f.train_seconds for f in res.fits)
        lat = []
        with torch.no_grad():
            for _ in range(50):
                t0 = time.perf_counter()
                if kind == "lstm":
                    for j, m in enumerate(res.models):
                        m(samples.batch(np.array([t]), j)[0])
                else:
                    res.models[0](samples.batch(np.array([t]), None)[0])
                lat.append(time.perf_counter() - t0)
        out[f"{kind}_latency_ms"] = 1000 * statistics.median(lat)
    return out


def known_answer(
    cfg: SupervisedConfig, n_bars: int, n_assets: int, device: torch.device
) -> list[dict[str, Any]]:
    gates = GatesConfig(supervised_shuffle_check=False)  # the leakage checks have their own tests
    results = []
    for market, strength in (("planted", STRENGTH), ("random_walk", 0.0)):
        data = data_for(n_bars, n_assets, strength, 3, cfg)
        for kind in KINDS:
            res = train_kind(kind, data, cfg, device=device)
            v = gate_kind(res, data, cfg, gates, f"{market}-{kind}", device=device)
            relevant = [c for c in v.checks if c.name.startswith(GATE_CHECKS)]
            acc = [c for c in v.checks if c.name.startswith("accuracy[")]
            per = v.figures["per_coin"]
            results.append(
                {
                    "market": market,
                    "kind": kind,
                    "accuracy": {k: s["accuracy"] for k, s in per.items()},
                    "ci": {k: [s["ci_low"], s["ci_high"]] for k, s in per.items()},
                    "calibration_error": v.figures["calibration_error"],
                    "oracle_accuracy": oracle_accuracy(data, res.test_rows, res.y_test),
                    "gate_passed": all(c.passed for c in relevant),
                    "accuracy_failed": any(not c.passed for c in acc),
                    "half_in_ci": all(s["ci_low"] <= 0.5 <= s["ci_high"] for s in per.values()),
                    "explanation": v.explain(),
                }
            )
            print(
                f"{market:11} {kind:11} "
                + ", ".join(f"{k} {a:.3f}" for k, a in results[-1]["accuracy"].items())
                + f"; calibration {v.figures['calibration_error']:.3f}"
                + f"; oracle {results[-1]['oracle_accuracy']:.3f}",
                flush=True,
            )
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="fewer bars and epochs")
    args = ap.parse_args()
    device = pick_device("auto")
    cfg = SupervisedConfig(
        lookback=12,
        epochs=12 if args.small else 20,
        patience=3,
        embargo=12,
        dead_zone=0.0,
        lstm_hidden=16,
        transformer_d_model=16,
        transformer_layers=1,
        learning_rate=3e-3,
        batch_size=128,
    )
    tp = throughput(cfg, 600 if args.small else 1500, device)
    print(json.dumps({"throughput": tp}, default=float), flush=True)
    ka = known_answer(cfg, 1200 if args.small else 2400, 2 if args.small else 3, device)
    planted = [r for r in ka if r["market"] == "planted"]
    noise = [r for r in ka if r["market"] == "random_walk"]
    ok = all(r["gate_passed"] for r in planted) and all(
        r["accuracy_failed"] and r["half_in_ci"] for r in noise
    )
    model_acc = float(np.mean([np.mean(list(r["accuracy"].values())) for r in planted]))
    oracle = float(np.mean([r["oracle_accuracy"] for r in planted]))
    print(json.dumps({"throughput": tp, "known_answer": ka}, default=float))
    verdict = {
        "metric": "planted_direction_accuracy_to_oracle",
        "value": model_acc,
        "unit": "accuracy",
        "baseline": oracle,  # the planted rule's accuracy on the same test labels
        "ratio": model_acc / oracle if oracle else None,
        "target": "planted: accuracy and calibration gates pass (both kinds); random walk: accuracy fails, "
        "0.5 inside its Wilson interval",
        "pass": ok,
        "mode": "small" if args.small else "full",
        "lstm_train_samples_per_s": tp["lstm_train_samples_per_s"],
        "transformer_train_samples_per_s": tp["transformer_train_samples_per_s"],
        "lstm_latency_ms_10_assets": tp["lstm_latency_ms"],
        "transformer_latency_ms_10_assets": tp["transformer_latency_ms"],
    }
    print(json.dumps(verdict, default=float))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
