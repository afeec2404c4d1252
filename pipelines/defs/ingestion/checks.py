"""Blocking checks on what ingestion loads: the GX suite expectations/raw_<extract>.json on
the rows of each extract this run loaded."""

import dagster as dg

from pipelines.defs.ingestion.assets import RAW_KEYS
from pipelines.defs.partitions import as_of_date, as_of_partitions
from pipelines.quality.checks import check_result
from pipelines.quality.validation import validate_table
from pipelines.resources import CrmResource
from pipelines.storage.audit import record


def _raw_extract_check(extract: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=RAW_KEYS[extract],
        name=f"gx_raw_{extract}",
        blocking=True,
        partitions_def=as_of_partitions,
        description=f"GX suite expectations/raw_{extract}.json on the {extract} rows this run loaded.",
    )
    def _check(context: dg.AssetCheckExecutionContext, crm: CrmResource) -> dg.AssetCheckResult:
        run_id = context.run.run_id
        suite = crm.suite_path(f"raw_{extract}")
        with crm.connect() as con:
            query = f"select count(*) from raw.{extract} where _run_id = ?"
            if not con.execute(query, [run_id]).fetchone()[0]:
                return dg.AssetCheckResult(
                    passed=True, description="no new rows in this run", metadata={"rows": 0}
                )
            # a first load holds every row of the history: validated in parts
            outcomes, rows = validate_table(con, f"raw.{extract}", "_run_id = ?", [run_id], suite)
            record(
                con,
                run_id=run_id,
                as_of=as_of_date(context),
                table=f"raw.{extract}",
                source="great_expectations",
                outcomes=outcomes,
            )
        return check_result(outcomes, rows)

    return _check


RAW_EXTRACT_CHECKS = [_raw_extract_check(name) for name in RAW_KEYS]
