"""Supply assets: days of channel stock cover per key account and product, and the key
accounts whose supply is at risk, per as-of date."""

import dagster as dg
import polars as pl

from pipelines.defs.customer_value.keys import CUSTOMER_TIERS
from pipelines.defs.partitions import as_of_date, as_of_partitions, one_date_per_run
from pipelines.defs.publishing.metadata import published_columns, table_result, table_spec
from pipelines.defs.supply.cover import key_account_supply_risk, supply_cover
from pipelines.defs.supply.keys import KEY_ACCOUNT_SUPPLY_RISK, SUPPLY_COVER
from pipelines.defs.transform.assets import dbt_project
from pipelines.defs.transform.keys import COVER_INPUTS
from pipelines.resources import CrmResource
from pipelines.storage.tables import read_as_of, write_as_of

COLUMNS_OF = {
    table: published_columns(table, dbt_project.manifest_path)
    for table in ("supply_cover", "key_account_supply_risk")
}


def _spec(key: dg.AssetKey, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return table_spec(key, description, deps, "supply", COLUMNS_OF[key.path[-1]])


@dg.multi_asset(
    name="scoring__supply_cover",
    specs=[
        _spec(
            SUPPLY_COVER,
            "Key-account supply assurance (F18): days of channel stock cover per key account "
            "and product, flagged below the threshold in force (stricter before a peak "
            "season) when the product has the minimum sell-in.",
            [CUSTOMER_TIERS, COVER_INPUTS],
        ),
        _spec(
            KEY_ACCOUNT_SUPPLY_RISK,
            "Per key account, the products at risk of running out, ranked by the sell-in "
            "value at risk.",
            [SUPPLY_COVER],
        ),
    ],
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
    can_subset=False,
)
def key_account_supply_cover(context: dg.AssetExecutionContext, crm: CrmResource):
    """Compute the cover of every key account's products on the as-of date, then rank the
    accounts by the sell-in value at risk."""
    config = crm.config()
    as_of = as_of_date(context)
    with crm.connect() as con:
        cover = con.execute("select * from intermediate.int_customer_product_cover").pl()
        tiers = read_as_of(con, "scoring.customer_tiers", as_of)
        frame = supply_cover(cover, tiers, config.supply_cover, as_of, config.version)
        write_as_of(con, "scoring.supply_cover", frame, as_of)
        risk = key_account_supply_risk(frame)
        write_as_of(con, "scoring.key_account_supply_risk", risk, as_of)
    if cover.filter(pl.col("stock_snapshot_date").is_not_null()).is_empty():
        context.log.info("no channel inventory has landed: days of cover cannot be computed")
    yield table_result(
        SUPPLY_COVER,
        frame,
        COLUMNS_OF["supply_cover"],
        key_accounts=frame["customer_id"].n_unique(),
        below_threshold=int(frame["is_below_threshold"].sum()),
        counted_as_zero_stock=int(frame["stock_counted_as_zero"].sum()),
        peak_season=str(config.supply_cover.peak_season(as_of)),
        config_version=config.version,
    )
    yield table_result(
        KEY_ACCOUNT_SUPPLY_RISK,
        risk,
        COLUMNS_OF["key_account_supply_risk"],
        accounts_at_risk=int((risk["products_at_risk"] > 0).sum()),
        sell_in_value_at_risk=float(risk["sell_in_value_at_risk"].sum()),
        top_accounts_at_risk=dg.MetadataValue.json(
            risk.filter(pl.col("risk_rank") <= 10)
            .select(
                "risk_rank",
                "customer_id",
                "products_at_risk",
                "stock_outs",
                "sell_in_value_at_risk",
            )
            .to_dicts()
        ),
    )
