"""Supervised direction forecasters beside the RL agent: an LSTM per coin and a Transformer over all coins.

* features and labels: ``cappuccino_core.features.supervised_set`` (one FeatureSpec, no look-ahead);
* ``models.py`` (torch modules), ``fit.py`` (early stopping), ``split.py`` (purged walk-forward split);
* ``metrics.py`` (accuracy with Wilson interval and base rate, confidence tiers, calibration),
  ``leakage.py`` and ``gate.py`` (the ``supervised`` gate's verdict);
* ``pipeline.py`` (train and gate one kind), ``run.py`` (``cappuccino train supervised``: Optuna, MLflow,
  registry, state store), ``tracking.py`` (MLflow runs, registered versions, loading);
* ``signals.py`` (direction, confidence, tier) and ``ensemble.py`` (the LSTM / Transformer / RL policy);
* ``synthetic.py``: markets with a known answer (benchmark, tests).
"""
