"""scripts/compare_published.py finds every difference of facts between two publications,
and none of the run ids and times that differ between two runs of the same facts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from pipelines.settings import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location(
    "compare_published", PROJECT_ROOT / "scripts" / "compare_published.py"
)
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)


def _warehouse(path: Path, rows: list[tuple], run_id: str, comment: str = "Net sales, CNY."):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema reporting")
        con.execute(
            "create table reporting.customer_facts "
            "(customer_id varchar, net_sales decimal(18, 2), run_id varchar)"
        )
        con.executemany(
            "insert into reporting.customer_facts values (?, ?, ?)",
            [(*row, run_id) for row in rows],
        )
        con.execute(f"comment on column reporting.customer_facts.net_sales is '{comment}'")
        con.execute(
            "create view reporting.current_customer_facts as select * from reporting.customer_facts"
        )
    return path


def test_the_same_facts_by_other_runs_are_identical(tmp_path: Path):
    rows = [("C1", 10.5), ("C2", 3), ("C2", 3)]
    a = _warehouse(tmp_path / "a.duckdb", rows, "run-a")
    b = _warehouse(tmp_path / "b.duckdb", list(reversed(rows)), "run-b")
    assert compare.differences(a, b) == []
    assert compare.main([str(a), str(b)]) == 0


def test_a_changed_row_a_lost_duplicate_and_a_description_are_found(tmp_path: Path):
    a = _warehouse(tmp_path / "a.duckdb", [("C1", 10.5), ("C2", 3), ("C2", 3)], "run-a")
    b = _warehouse(tmp_path / "b.duckdb", [("C1", 10.51), ("C2", 3)], "run-a", "Net sales.")
    assert compare.differences(a, b) == [
        "current_customer_facts: 2 row(s) only before",
        "current_customer_facts: 1 row(s) only after",
        "customer_facts: columns differ: "
        "[('net_sales', 'DECIMAL(18,2)', 'Net sales, CNY.'), "
        "('net_sales', 'DECIMAL(18,2)', 'Net sales.')]",
    ]
    assert compare.main([str(a), str(b)]) == 1


def test_a_relation_missing_on_one_side_is_named(tmp_path: Path):
    a = _warehouse(tmp_path / "a.duckdb", [("C1", 1)], "r")
    b = _warehouse(tmp_path / "b.duckdb", [("C1", 1)], "r")
    with duckdb.connect(str(b)) as con:
        con.execute("drop view reporting.current_customer_facts")
    assert compare.differences(a, b) == ["current_customer_facts: only in before"]
