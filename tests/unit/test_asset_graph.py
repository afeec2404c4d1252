"""What the Dagster UI shows: one asset per published table with its columns, the scoring
assets' columns, every check described, and the assets grouped by domain."""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from pipelines.config import load_config
from pipelines.definitions import defs
from pipelines.defs.credit.flags import CREDIT_FLAG_COLUMNS
from pipelines.defs.credit.rating import CREDIT_RATING_COLUMNS, SCORECARD_COLUMNS
from pipelines.defs.customer_value.customer_tiers import TIER_COLUMNS
from pipelines.defs.publishing.assets import PUBLISHED_WAREHOUSE, published_warehouse
from pipelines.defs.publishing.columns import COLUMNS
from pipelines.defs.publishing.publish import PER_AS_OF_TABLES, PUBLISHED_TABLES
from pipelines.defs.supply.cover import SUPPLY_COVER_COLUMNS, SUPPLY_RISK_COLUMNS
from pipelines.defs.transform.assets import dbt_project
from pipelines.settings import PROJECT_ROOT

GRAPH = defs.resolve_asset_graph()
KEYS = {key.to_user_string(): key for key in GRAPH.get_all_asset_keys()}
# the published tables whose columns a scoring rule fixes in code, in that order
RULE_COLUMNS = {
    "customer_tiers": TIER_COLUMNS,
    "credit_flags": CREDIT_FLAG_COLUMNS,
    "credit_scorecard": SCORECARD_COLUMNS,
    "supply_cover": SUPPLY_COVER_COLUMNS,
    "key_account_supply_risk": SUPPLY_RISK_COLUMNS,
}


def _columns(key: str) -> list[dg.TableColumn]:
    schema = GRAPH.get(KEYS[key]).metadata.get("dagster/column_schema")
    assert schema is not None, f"{key} has no column schema"
    return list(getattr(schema, "schema", schema).columns)


def _dbt_columns(model: str) -> list[str]:
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    return list(manifest["nodes"][f"model.crm.{model}"]["columns"])


def test_every_published_table_is_an_asset_of_the_one_publication():
    reporting = {key for key in KEYS if key.startswith("reporting/")}
    assert reporting == {f"reporting/{table}" for table in PUBLISHED_TABLES} | {
        "reporting/warehouse"
    }
    # one atomic step materializes them all, together
    assert {k.to_user_string() for k in published_warehouse.keys} == reporting
    assert not published_warehouse.can_subset
    assert {published_warehouse.node_def.name} == {
        GRAPH.get(KEYS[key]).assets_def.node_def.name for key in reporting
    }
    warehouse = GRAPH.get(PUBLISHED_WAREHOUSE)
    assert {k.to_user_string() for k in warehouse.parent_keys} == reporting - {
        "reporting/warehouse"
    }


@pytest.mark.parametrize("table", PUBLISHED_TABLES)
def test_a_published_table_has_its_columns_described_and_its_sources(table: str):
    node = GRAPH.get(KEYS[f"reporting/{table}"])
    assert node.group_name == "publishing"
    assert node.description and node.description.strip()
    assert node.partitions_def is not None
    columns = _columns(f"reporting/{table}")
    names = [c.name for c in columns]
    assert names and len(names) == len(set(names))
    assert [c.name for c in columns if not (c.description or "").strip()] == []
    if table in RULE_COLUMNS:
        assert names == RULE_COLUMNS[table]
    elif table in COLUMNS:  # a Python table: the columns its tables.yml describes
        assert names == list(COLUMNS[table])
    else:  # built by dbt: the columns of its YAML
        assert names == _dbt_columns(table)
    if table in PER_AS_OF_TABLES:
        assert "as_of_date" in names
    # fed by the assets that write it; the audit trail by the checks of the run
    assert bool(node.parent_keys) == (table != "data_quality_results")


def test_the_ui_reads_the_dbt_descriptions_publication_reads():
    """One reader of the manifest gives publication and the UI the YAML's descriptions."""
    from pipelines.defs.transform.manifest import model_columns

    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    for node in models:
        assert model_columns(dbt_project.manifest_path, node["name"]) == {
            name: column.get("description", "") for name, column in node["columns"].items()
        }
    assert model_columns(dbt_project.manifest_path, "not_a_model") == {}


def test_scoring_assets_have_the_columns_of_their_rules():
    expected = {
        "scoring/customer_tiers": TIER_COLUMNS,
        "scoring/credit_ratings": CREDIT_RATING_COLUMNS,
        "scoring/credit_flags": CREDIT_FLAG_COLUMNS,
        "scoring/supply_cover": SUPPLY_COVER_COLUMNS,
    }
    for key, names in expected.items():
        columns = _columns(key)
        assert [c.name for c in columns] == names, key
        assert [c.name for c in columns if not (c.description or "").strip()] == [], key
    grades = _columns("scoring/prospect_grades")
    assert [c.name for c in grades] == [c.name for c in _columns("reporting/prospect_grades")]


def test_every_asset_check_is_described():
    checks = list(GRAPH.asset_check_keys)
    assert len(checks) > 50  # GX suites, reconciliation and every dbt test
    undescribed = [
        key.to_user_string()
        for key in checks
        if not (GRAPH.get_check_spec(key).description or "").strip()
    ]
    assert undescribed == []
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert [n["name"] for n in tests if not n.get("description")] == []
    dbt_checks = {key.name for key in checks}
    assert {n["name"] for n in tests} <= dbt_checks


def _outside_code(text: str) -> str:
    return re.sub(r"`[^`]*`", "", re.sub(r"```.*?```", "", text or "", flags=re.S))


def test_descriptions_render_in_the_ui():
    """The UI renders descriptions as Markdown: an unescaped `<as-of>` outside a code span
    would be taken for an HTML tag and vanish (reports/_/index.html)."""
    tag = re.compile(r"(?<!\\)<(?=[A-Za-z/!?])")
    broken = []
    for name, key in KEYS.items():
        node = GRAPH.get(key)
        if tag.search(_outside_code(node.description)):
            broken.append(name)
        schema = node.metadata.get("dagster/column_schema")
        for column in getattr(schema, "schema", schema).columns if schema else []:
            if tag.search(_outside_code(column.description)):
                broken.append(f"{name}.{column.name}")
    for key in GRAPH.asset_check_keys:
        if tag.search(_outside_code(GRAPH.get_check_spec(key).description)):
            broken.append(key.to_user_string())
    assert broken == []
    assert "`reports/<as-of>_<run id>/index.html`" in GRAPH.get(PUBLISHED_WAREHOUSE).description


GROUPS = {
    "ingestion": ["raw/sales", "raw/payments", "raw/rejected_rows", "raw/delivery_manifest"],
    "staging": ["staging/stg_erp__sales", "staging/stg_erp__credit_reviews"],
    "transform": [
        "intermediate/int_customers_in_force",
        "intermediate/int_products_in_force",
        "intermediate/int_sales_customer_daily",
        "intermediate/int_sales_history_loaded",
    ],
    "customer_value": [
        "marts/customer_facts",
        "intermediate/int_customer_pareto_classes",
        "marts/customer_monthly_performance",
        "marts/product_performance",
        "marts/complaints_monthly",
        "scoring/customer_tiers",
    ],
    "credit": [
        "intermediate/int_ar_ledger_customers",
        "intermediate/int_ar_invoices",
        "intermediate/int_ar_credits",
        "intermediate/int_ar_credit_applications",
        "intermediate/int_ar_items",
        "intermediate/int_ar_items_aged",
        "marts/customer_ar",
        "marts/customer_payment_behaviour",
        "scoring/credit_ratings",
        "scoring/credit_flags",
    ],
    "supply": ["intermediate/int_customer_product_cover", "scoring/supply_cover"],
    "prospects": ["intermediate/int_prospects_in_force", "scoring/prospect_grades"],
    "publishing": ["reporting/warehouse", "reporting/credit_watch_list"],
}


def test_assets_are_grouped_by_domain():
    groups = {name: GRAPH.get(key).group_name for name, key in KEYS.items()}
    assert set(groups.values()) == set(GROUPS)
    for group, names in GROUPS.items():
        assert {name: groups[name] for name in names} == dict.fromkeys(names, group)
    # every AR ledger model is credit's, every raw table ingestion's, every view staging's
    by_prefix = {"intermediate/int_ar_": "credit", "raw/": "ingestion", "staging/": "staging"}
    for prefix, group in by_prefix.items():
        assert {groups[n] for n in groups if n.startswith(prefix)} == {group}


def test_descriptions_say_the_values_configured():
    from pipelines.defs.publishing.columns import rendered

    config = load_config(PROJECT_ROOT / "config" / "crm.yaml")
    assert "A up to 80% cumulative share, B up to 95%" in COLUMNS["customer_tiers"]["abc_class"]
    stricter = config.model_copy(
        update={
            "abc": config.abc.model_copy(update={"a_max_cumulative_share": 0.7}),
            "churn": config.churn.model_copy(update={"fallback_days": 120}),
        }
    )
    described = rendered(stricter)["customer_tiers"]
    assert "A up to 70% cumulative share, B up to 95%" in described["abc_class"]
    assert "(120 days with fewer than two order days)" in described["is_churn_risk"]
    left = [f"{t}.{c}" for t, cols in COLUMNS.items() for c, text in cols.items() if "{" in text]
    assert left == []


def test_every_published_table_is_described_once_with_the_values_configured():
    """The dbt YAML and the domains' tables.yml are one catalogue: every published table has
    its description in exactly one of them, and a configured value a dbt description names
    is filled in as in the Python ones."""
    from pipelines.defs.publishing.columns import (
        _catalogue,
        published_descriptions,
        render,
        table_description,
    )
    from pipelines.defs.transform.manifest import model_meta

    manifest = dbt_project.manifest_path
    for table in [*PUBLISHED_TABLES, "publication", "publication_history"]:
        in_python = table in _catalogue()
        in_dbt = bool(model_meta(manifest, table).get("published_description"))
        assert in_python != in_dbt, table
        text = table_description(table, manifest)
        assert text.strip() and "{c." not in text, table
        columns = published_descriptions(table, manifest)
        assert [c for c, d in columns.items() if "{c." in d] == [], table
    bounced = published_descriptions("credit_flags", manifest)["bounced_payments_90d"]
    assert bounced == "Reversals (bounced receipts) dated in the last 90 days."
    config = load_config(PROJECT_ROOT / "config" / "crm.yaml")
    longer = config.model_copy(
        update={"credit": config.credit.model_copy(update={"bounced_lookback_days": 120})}
    )
    assert render("the last {c.credit.bounced_lookback_days} days", longer) == "the last 120 days"
    assert render("{c.abc.a_max_cumulative_share:.0%}, {not a setting}", config) == (
        "80%, {not a setting}"
    )
