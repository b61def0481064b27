"""`cappuccino data ...`: ingest (download/update/import), check, features. One module per concern."""

from __future__ import annotations

import typer

from cappuccino_cli import data_check, data_features, data_ingest

app = typer.Typer(no_args_is_help=True)
app.command("download", help="Download bars from a venue into the Parquet store.")(data_ingest.download)
app.command("update", help="Fetch only bars after the last stored one.")(data_ingest.update)
app.command("import", help="Import local Feather/Parquet/CSV files into the store.")(data_ingest.import_files)
app.command("check", help="Validate stored bars and report gaps, duplicates, placeholders, staleness.")(
    data_check.check
)
app.command("features", help="Build the feature dataset (arrays + FeatureSpec) from stored bars.")(
    data_features.features
)
