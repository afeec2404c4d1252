"""What a dbt build is given as `--vars`: the whole validated configuration, one road for
every value the models read (macros/crm_setting.sql), and for a build by hand the as-of
date (the pipeline passes the date in CRM_AS_OF_DATE instead: see macros/as_of_date.sql)."""

from __future__ import annotations

from datetime import date

from pipelines.config import CrmConfig


def dbt_vars(config: CrmConfig, as_of: date | None = None) -> dict:
    """`--vars` of a dbt build: `crm_config`, and `as_of_date` when given."""
    given = {"crm_config": config.model_dump(mode="json")}
    if as_of is not None:
        given["as_of_date"] = as_of.isoformat()
    return given
