"""Rewards beyond the three compiled ones: one file each, a class registered with ``env.rewards.reward``.

Example (``cappuccino_core/env/extra_rewards/downside_penalised.py``)::

    from cappuccino_core.env.rewards import reward

    @reward("downside_penalised")
    class DownsidePenalised:
        def __init__(self, env, n): ...
        def __call__(self, ret, bench_ret): return ret - 2.0 * np.minimum(ret, 0.0)
        def reset(self, idx): ...

``EnvConfig.reward`` then accepts ``downside_penalised``; the kernel computes it in numpy each step.
"""
