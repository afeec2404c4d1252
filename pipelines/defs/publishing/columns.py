"""What every published table and column means: written into the warehouse as DuckDB
comments (BI tools show them) and into the Dagster UI's column schemas, and checked by a test
to cover every published column.

One catalogue, written where each table is built: the dbt models in their YAML (the table's
published comment as `config.meta.published_description`), the tables built in Python in the
`tables.yml` beside their domain's assets (`pipelines/defs/<domain>/tables.yml`). Both may
name a configured value as `{c.<section>.<key>}` (with a format spec after a colon), filled
in from the configuration in force.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

from pipelines.config import CrmConfig, load_config
from pipelines.defs.transform.manifest import model_columns, model_meta
from pipelines.settings import PROJECT_ROOT, environment_path

DOMAINS_DIR = Path(__file__).resolve().parents[1]
# `{c.abc.a_max_cumulative_share:.0%}`: a configured value and its format spec
_SETTING = re.compile(r"\{c\.([a-z_][a-z0-9_.]*)(?::([^{}]*))?\}")


@cache
def _catalogue() -> dict[str, dict]:
    """table -> its entry (description, columns, columns_from_dbt) of every domain's
    tables.yml; a table described twice is a mistake the reader refuses."""
    tables: dict[str, dict] = {}
    for path in sorted(DOMAINS_DIR.glob("*/tables.yml")):
        for table, entry in yaml.safe_load(path.read_text(encoding="utf-8"))["tables"].items():
            if table in tables:
                raise ValueError(f"{path}: {table} is described in another tables.yml too")
            tables[table] = entry
    return tables


def render(text: str, config: CrmConfig) -> str:
    """`text` with every `{c.<section>.<key>[:spec]}` replaced by the configured value."""

    def value(match: re.Match) -> str:
        setting: object = config
        for part in match.group(1).split("."):
            setting = getattr(setting, part)
        return format(setting, match.group(2) or "")

    return _SETTING.sub(value, text)


def rendered(config: CrmConfig) -> dict[str, dict[str, str]]:
    """The column descriptions of the tables built in Python, with the values of `config`
    filled in."""
    return {
        table: {column: render(text, config) for column, text in entry["columns"].items()}
        for table, entry in _catalogue().items()
    }


def _config_in_force() -> CrmConfig:
    """The configuration CRM_CONFIG_PATH names; the repository's own when that one cannot be
    read (the run that reads it reports why)."""
    try:
        return load_config(environment_path("CRM_CONFIG_PATH"))
    except ValueError:
        return load_config(PROJECT_ROOT / "config" / "crm.yaml")


CONFIG = _config_in_force()
# table -> column -> description of the tables built in Python, as BI tools read them
COLUMNS = rendered(CONFIG)
# Python tables that carry columns of a dbt model: those columns keep the model's description.
COLUMNS_FROM_DBT = {
    table: entry["columns_from_dbt"]
    for table, entry in _catalogue().items()
    if "columns_from_dbt" in entry
}


def table_description(table: str, dbt_manifest: Path | None) -> str:
    """What the published table means, as its DuckDB comment says: its tables.yml entry, or
    the dbt model's published_description ("" when neither describes it)."""
    if table in _catalogue():
        return render(_catalogue()[table]["description"], CONFIG)
    if dbt_manifest is None:
        return ""
    return render(model_meta(dbt_manifest, table).get("published_description", ""), CONFIG)


def with_key(text: str, key: tuple[str, ...] | None) -> str:
    """A table's description followed by its key: the columns that pick out one row."""
    return f"{text} Key: {', '.join(key)}." if key else text


def current_view_description(table: str, dbt_manifest: Path | None) -> str:
    """The description of the view reporting.current_<table>."""
    return (
        f"The rows of reporting.{table} for the newest as-of date published "
        f"(reporting.publication.as_of_date); a view, always in step with the table. "
        f"{table_description(table, dbt_manifest)}"
    )


def published_descriptions(table: str, dbt_manifest: Path | None) -> dict[str, str]:
    """Column -> description of a published table, as its DuckDB comments and the Dagster UI
    say: this catalogue's, else the dbt model's (from its YAML); a Python table keeps the
    descriptions of the dbt model whose columns it carries (COLUMNS_FROM_DBT)."""
    columns = dict(COLUMNS.get(table, {}))
    if dbt_manifest is not None and (not columns or table in COLUMNS_FROM_DBT):
        source = COLUMNS_FROM_DBT.get(table, table)
        dbt_columns = model_columns(dbt_manifest, source)
        columns = {name: render(text, CONFIG) for name, text in dbt_columns.items()} | columns
    return columns
