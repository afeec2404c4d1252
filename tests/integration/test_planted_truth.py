"""The decisions measured against the behaviours the demo generator planted (its truth file,
written beside the landing folder and never ingested): the real pipeline on a generated
landing folder, then the published flags, classes, treatments and supply cover compared with
what each planted customer really did."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.demo.generator import DemoSpec, generate
from pipelines.runner import run_pipeline
from pipelines.settings import PROJECT_ROOT, apply_environment

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 30)
RISKY = ("chronic_late_payer", "deteriorating_payer", "bounced_bill", "stopped_paying")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("truth")
    generate(root / "landing", DemoSpec(customers=600, days=730, end_date=AS_OF, seed=7))
    truth = pl.read_csv(root / "landing_truth.csv", schema_overrides={"customer_id": pl.String})
    assert not any((root / "landing").rglob("*truth*")), "the truth must stay out of landing"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
        mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
        mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
        mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.setenv("CRM_WORK_DB", "")
        settings = apply_environment()
        outcome = run_pipeline(settings, AS_OF, log_level="WARNING")
    assert outcome.success, outcome.errors
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)

    def table(name: str) -> pl.DataFrame:
        return con.execute(f"select * from reporting.{name} where as_of_date = ?", [AS_OF]).pl()

    yield truth, table("credit_flags"), table("customer_tiers"), table("supply_cover"), con
    con.close()


def _planted(truth: pl.DataFrame, *kinds: str) -> set[str]:
    return set(truth.filter(pl.col("kind").is_in(kinds))["customer_id"].to_list())


def _share(customers: set[str], frame: pl.DataFrame, condition: pl.Expr) -> float:
    hit = frame.filter(pl.col("customer_id").is_in(list(customers)) & condition)
    return hit.height / len(customers)


def test_the_truth_plants_enough_of_every_behaviour(published):
    truth, *_ = published
    counts = dict(truth.group_by("kind").len().iter_rows())
    for kind in (*RISKY, "steady_payer", "churner", "grower", "stockout"):
        assert counts.get(kind, 0) >= 5, (kind, counts)


def test_risky_payers_carry_a_flag_with_an_action(published):
    truth, flags, *_ = published
    risky = _planted(truth, *RISKY) - _planted(truth, "churner")
    assert _share(risky, flags, pl.col("recommended_action") != "none") >= 0.90
    # each kind is caught by the rule made for it
    deteriorating = _planted(truth, "deteriorating_payer")
    codes = pl.col("reason_codes")
    assert _share(deteriorating, flags, codes.list.contains("DETERIORATING")) >= 0.75
    bounced = _planted(truth, "bounced_bill")
    assert _share(bounced, flags, codes.list.contains("BOUNCED_PAYMENT_90D")) == 1.0
    stopped = _planted(truth, "stopped_paying")
    assert _share(stopped, flags, pl.col("recommended_action") != "none") >= 0.90


def test_steady_payers_are_left_alone(published):
    truth, flags, *_ = published
    steady = _planted(truth, "steady_payer") - _planted(truth, *RISKY)
    assert _share(steady, flags, pl.col("recommended_action") != "none") <= 0.05
    # and rated well: class A or B
    assert _share(steady, flags, pl.col("credit_class").is_in(["A", "B"])) >= 0.90


def test_limits_respond_to_behaviour(published):
    truth, flags, *_ = published
    assert flags["credit_limit"].n_unique() >= 50
    chronic = _planted(truth, "chronic_late_payer")
    steady = _planted(truth, "steady_payer")
    score = dict(flags.select("customer_id", "credit_score").iter_rows())
    median = {
        name: sorted(score[c] for c in group)[len(group) // 2]
        for name, group in (("chronic", chronic), ("steady", steady))
    }
    assert median["steady"] - median["chronic"] >= 25, median
    assert _share(chronic, flags, pl.col("credit_class").is_in(["C", "D"])) >= 0.90


def test_churners_are_churn_risks_and_growers_are_valued(published):
    truth, _, tiers, *_ = published
    churners = _planted(truth, "churner")
    assert _share(churners, tiers, pl.col("is_churn_risk")) >= 0.90
    growers = _planted(truth, "grower")
    # "most growth" or, for the largest of them, already "most valuable"
    assert _share(growers, tiers, pl.col("value_class").is_in(["MGC", "MVC"])) >= 0.90


def test_no_closed_customer_gets_credit_key_service_or_growth(published):
    _, flags, tiers, *_ = published
    closed = flags.filter(pl.col("customer_status") == "closed")
    assert closed.height > 0
    assert closed.filter(pl.col("credit_limit").fill_null(1) != 0).is_empty()
    closed_tiers = tiers.filter(pl.col("customer_status") == "closed")
    assert set(closed_tiers["recommended_treatment"].unique()) <= {"exit", "collect_and_exit"}
    assert closed_tiers.filter(pl.col("value_class").is_in(["MGC", "MVC"])).is_empty()


def test_planted_stockouts_are_flagged(published):
    truth, _, _, cover, _ = published
    stockouts = truth.filter(pl.col("kind") == "stockout").select("customer_id", "product_id")
    flagged = stockouts.join(
        cover.filter(pl.col("is_below_threshold")), on=["customer_id", "product_id"], how="semi"
    )
    assert flagged.height / stockouts.height >= 0.90
