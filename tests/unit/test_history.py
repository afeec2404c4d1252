"""Tier migrations (F13) between two as-of dates."""

from __future__ import annotations

import polars as pl

from pipelines.defs.customer_value.tier_migrations import DIMENSIONS, EVIDENCE, tier_migrations


def _tiers(rows: dict[str, dict]) -> pl.DataFrame:
    base = dict.fromkeys(DIMENSIONS) | dict.fromkeys(EVIDENCE, 0.0)
    return pl.DataFrame(
        [base | {"customer_id": c} | r for c, r in rows.items()],
        schema={
            "customer_id": pl.String,
            **dict.fromkeys(DIMENSIONS, pl.String),
            **dict.fromkeys(EVIDENCE, pl.Float64),
        },
    )


def test_upgrades_downgrades_new_lost_and_reasons():
    before = _tiers(
        {
            "up": {"abc_class": "B", "size_tier": "small", "monetary_12m": 100.0},
            "down": {"abc_class": "A", "value_class": "MVC", "monetary_12m": 900.0},
            "same": {"abc_class": "C"},
            "gone": {"abc_class": "C"},
        }
    )
    after = _tiers(
        {
            "up": {"abc_class": "A", "size_tier": "small", "monetary_12m": 150.5},
            "down": {"abc_class": "A", "value_class": "BZC", "monetary_12m": 800.0},
            "same": {"abc_class": "C"},
            "fresh": {"abc_class": "C"},
        }
    )
    moves = tier_migrations(before, after)
    assert moves.select(
        "customer_id", "dimension", "from_class", "to_class", "direction"
    ).rows() == [
        ("down", "value_class", "MVC", "BZC", "downgrade"),
        ("fresh", "abc_class", None, "C", "new"),
        ("gone", "abc_class", "C", None, "lost"),
        ("up", "abc_class", "B", "A", "upgrade"),
    ]
    assert moves.filter(pl.col("customer_id") == "up")["reason"].item() == (
        "12m net sales 100.0 -> 150.5; net value 0.0 -> 0.0; CLV 0.0 -> 0.0"
    )


def test_no_previous_date_means_no_migrations():
    after = _tiers({"a": {"abc_class": "A"}})
    assert tier_migrations(after.clear(), after).is_empty()


def test_the_published_tier_changes_macro_moves_in_the_dimensions_of_the_migrations():
    """reporting.tier_changes(from, to), the macro BI tools compare two dates with, names
    the customers and classes the migrations name, in every dimension they cover."""
    import duckdb

    from pipelines.defs.publishing.publish import MACROS

    before = _tiers(
        {
            "abc": {"abc_class": "B"},
            "grade": {"abc_class": "A", "profit_grade": "B"},
            "development": {"development_class": "brand"},
            "same": {"abc_class": "C", "revenue_grade": "D"},
            "gone": {"abc_class": "C"},
        }
    )
    after = _tiers(
        {
            "abc": {"abc_class": "A"},
            "grade": {"abc_class": "A", "profit_grade": "A"},
            "development": {"development_class": "mass_distribution"},
            "same": {"abc_class": "C", "revenue_grade": "D"},
            "fresh": {"abc_class": "C"},
        }
    )
    con = duckdb.connect()
    con.execute("create schema reporting")
    dated = pl.concat(
        [
            before.with_columns(as_of_date=pl.date(2026, 10, 31)),
            after.with_columns(as_of_date=pl.date(2026, 11, 30)),
        ]
    )
    con.register("dated", dated.to_arrow())
    con.execute("create table reporting.customer_tiers as select * from dated")
    for macro in MACROS:
        con.execute(macro)
    changes = con.execute("select * from reporting.tier_changes('2026-10-31', '2026-11-30')").pl()
    moves = tier_migrations(before, after)
    assert sorted(changes["customer_id"]) == sorted(set(moves["customer_id"]))
    assert sorted(changes["customer_id"]) == ["abc", "development", "fresh", "gone", "grade"]
    for customer, dimension, from_class, to_class in moves.select(
        "customer_id", "dimension", "from_class", "to_class"
    ).rows():
        row = changes.filter(pl.col("customer_id") == customer).row(0, named=True)
        assert (row[f"{dimension}_before"], row[f"{dimension}_after"]) == (from_class, to_class)
