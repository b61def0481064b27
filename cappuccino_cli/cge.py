"""`cappuccino cge`: generate the scenario set, describe it per regime, plot fan charts, refit the hourly
layer.

The set lives in ``<cge.output_dir>/<version>-<config hash[:12]>``; ``generate`` reuses an existing set with
the same version and config hash unless ``--force``. ``describe`` and ``plot`` read the set of the current
configuration (or ``--set PATH``; the newest set under output_dir if the configured one does not exist).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.config import Settings

app = typer.Typer(no_args_is_help=True)

SetOption = typer.Option(None, "--set", help="path of a scenario set (default: the configured one)")
TickerOption = typer.Option(None, "--ticker", help="asset of the fan chart (default: the first)")
PlotOutOption = typer.Option(None, "--out", "-o", help="PNG path (default: reports_dir/cge_<set>.png)")
CalibOutOption = typer.Option(None, "--out", "-o", help="JSON path (default: output_dir/...json)")
ForceOption = typer.Option(False, "--force", help="regenerate even if the set exists")
ScenariosOption = typer.Option(None, "--n-scenarios", "-n", help="override cge.n_scenarios")
WorkersOption = typer.Option(None, "--workers", "-w", help="override cge.workers")


def _open_set(settings: Settings, path: Path | None):  # -> ScenarioSet
    from cappuccino_core.cge.generate import latest_set, set_path, spec_from_settings
    from cappuccino_core.cge.store import ScenarioSet

    if path is not None:
        return ScenarioSet(path)
    configured = set_path(settings, spec_from_settings(settings))
    if (configured / "manifest.json").is_file():
        return ScenarioSet(configured)
    found = latest_set(settings.cge.output_dir)
    console.print(
        f"[yellow]configured set {configured.name} not generated; showing {found.path.name}[/yellow]"
    )
    return found


@app.command("generate", help="Generate the scenario set (reuses one with the same version+config hash).")
def generate(
    config: Path | None = ConfigOption,
    force: bool = ForceOption,
    n_scenarios: int | None = ScenariosOption,
    workers: int | None = WorkersOption,
) -> None:
    from cappuccino_core.cge.generate import generate as run_generate
    from cappuccino_core.cge.generate import spec_from_settings

    settings = settings_or_exit(config)
    if n_scenarios is not None:
        settings.cge.n_scenarios = n_scenarios
    try:
        spec = spec_from_settings(settings)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    with Progress(
        TextColumn("[bold]scenarios"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("generate", total=spec.n_scenarios)
        sset, reused = run_generate(
            spec,
            settings.cge.output_dir,
            workers=workers or settings.cge.workers,
            force=force,
            progress=lambda n: bar.advance(task, n),
        )
        if reused:
            bar.update(task, completed=spec.n_scenarios)
    m = sset.manifest
    console.print(f"{'reused' if reused else 'wrote'} {sset.path}")
    console.print(f"version {m['version']}  config {m['config_hash'][:12]}  content {m['content_hash'][:12]}")
    console.print(f"regimes {m['regime_mix']}  base seed {m['base_seed']}  tickers {m['tickers']}")
    s = m["solver"]
    console.print(
        f"solver: {s['periods']} quarters, homotopy {s['homotopy_rate']:.2%}, "
        f"failed {s['failure_rate']:.2%}, "
        f"worst residual {s['worst_residual']:.1e}"
    )
    console.print(
        f"paths wider than their price band (centred, kept, flagged): {m['band_flag_rate']:.1%} "
        f"by regime {json.dumps({k: round(v, 3) for k, v in m['band_flag_rate_by_regime'].items()})}"
    )


FactsOption = typer.Option(
    False, "--facts", help="stylised facts, synthetic per regime beside real bars (table + PNG)"
)
FactsOutOption = typer.Option(
    None, "--out", "-o", help="facts PNG (default: reports_dir/cge_facts_<set>.png)"
)


def _describe_facts(settings: Settings, sset, ticker: str | None, out: Path | None) -> None:
    from cappuccino_core.cge.facts import describe_facts, facts_plot, markdown
    from cappuccino_core.cge.garch_fit import REFERENCE, base_asset, load_real_hourly

    tickers = list(sset.tickers)
    who = ticker or next((t for t in tickers if base_asset(t) == REFERENCE), tickers[0])
    if who not in tickers:
        raise ValueError(f"{who} not in the set's tickers {tickers}")
    # the longest real history first (cge.real_data_dir), the bundled sample for what it lacks
    frames, sources = load_real_hourly(
        tickers, settings.data.venue, settings.cge.real_data_dir, settings.paths.sample_dir
    )
    table = describe_facts(sset, frames)
    kinds = [k for k in ("normal", "bull", "bear", "crisis") if (table.rows["kind"] == k).any()]
    console.print(
        f"stylised facts of {who}: synthetic median (5-95%) per regime; real median [range]", markup=False
    )
    console.print(f"real bars: {', '.join(sorted(set(v.split()[0] for v in sources.values())))}")
    console.print(markdown(table, who, kinds), markup=False, soft_wrap=True)
    path = facts_plot(table, who, out or settings.paths.reports_dir / f"cge_facts_{sset.path.name}.png")
    console.print(f"wrote {path}")


@app.command("describe", help="Per-regime statistics: volatility, 1y return, drawdown, macro paths.")
def describe(
    config: Path | None = ConfigOption,
    set_path: Path | None = SetOption,
    facts: bool = FactsOption,
    ticker: str | None = TickerOption,
    out: Path | None = FactsOutOption,
) -> None:
    from cappuccino_core.cge.describe import asset_summary, macro_summary

    settings = settings_or_exit(config)
    try:
        sset = _open_set(settings, set_path)
        if facts:
            _describe_facts(settings, sset, ticker, out)
            return
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"[bold]{sset.path.name}[/bold]: {sset.n_scenarios} scenarios, {sset.hours} hours, "
        f"content {sset.content_hash[:12]}"
    )
    t = Table(title="price paths by regime (medians over scenarios)")
    for c in (
        "regime",
        "ticker",
        "n",
        "ann. vol",
        "1y log ret",
        "p10",
        "p90",
        "max DD",
        "ex. kurt",
        "band flag",
    ):
        t.add_column(c, justify="right")
    for r in asset_summary(sset).iter_rows(named=True):
        t.add_row(
            r["regime"],
            r["ticker"],
            str(r["n"]),
            f"{r['ann_vol']:.2f}",
            f"{r['log_return_1y']:+.2f}",
            f"{r['log_return_p10']:+.2f}",
            f"{r['log_return_p90']:+.2f}",
            f"{r['max_drawdown']:.1%}",
            f"{r['excess_kurtosis']:.1f}",
            f"{r['band_flag_rate']:.0%}",
        )
    console.print(t)
    t = Table(title="macro paths by regime (medians; quarter 0 = benchmark)")
    for c in ("regime", "quarter", "GDP %", "U %", "inflation %", "policy rate %", "ln Pc"):
        t.add_column(c, justify="right")
    for r in macro_summary(sset).iter_rows(named=True):
        t.add_row(
            r["regime"],
            str(r["quarter"]),
            f"{r['gdp_pct']:+.2f}",
            f"{r['unemployment_pct']:.2f}",
            f"{r['inflation_pct']:.2f}",
            f"{r['policy_rate_pct']:.2f}",
            f"{r['ln_pc']:+.3f}",
        )
    console.print(t)


@app.command("plot", help="PNG fan chart of price paths by regime and macro paths.")
def plot(
    config: Path | None = ConfigOption,
    set_path: Path | None = SetOption,
    out: Path | None = PlotOutOption,
    ticker: str | None = TickerOption,
) -> None:
    from cappuccino_core.cge.plot import fan_chart

    settings = settings_or_exit(config)
    try:
        sset = _open_set(settings, set_path)
        if ticker is not None and ticker not in sset.tickers:
            raise ValueError(f"{ticker} not in the set's tickers {sset.tickers}")
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    path = fan_chart(sset, out or settings.paths.reports_dir / f"cge_{sset.path.name}.png", ticker)
    console.print(f"wrote {path}")


@app.command("calibrate", help="Refit the hourly layer (GARCH-t, betas, correlation) on the real bars.")
def calibrate(
    config: Path | None = ConfigOption,
    out: Path | None = CalibOutOption,
) -> None:
    from cappuccino_core.cge.generate import cge_tickers, fit_from_real
    from cappuccino_core.cge.store import CALIBRATION_FILE

    settings = settings_or_exit(config)
    try:
        calib = fit_from_real(settings, cge_tickers(settings))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    path = calib.save(out or settings.cge.output_dir / CALIBRATION_FILE)
    t = Table(title=f"hourly fit {calib.window_start} .. {calib.window_end} ({calib.hours} h)")
    for c in ("ticker", "vol", "alpha", "beta", "nu", "beta BTC"):
        t.add_column(c, justify="right")
    for a in calib.assets.values():
        t.add_row(
            a.ticker,
            f"{a.vol_annual:.3f}",
            f"{a.alpha:.3f}",
            f"{a.beta:.3f}",
            f"{a.nu:.2f}",
            f"{a.beta_btc:.2f}",
        )
    console.print(t)
    console.print(f"mean correlation {calib.corr:.3f}; {'; '.join(calib.notes)}")
    console.print(f"wrote {path}")
