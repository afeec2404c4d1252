"""Blocking checks on the supply tables: their GX suites."""

from pipelines.defs.partitions import as_of_partitions
from pipelines.defs.supply.keys import KEY_ACCOUNT_SUPPLY_RISK, SUPPLY_COVER
from pipelines.quality.checks import gx_table_check

CHECKS = [
    gx_table_check(key, key.path[-1], f"scoring.{key.path[-1]}", as_of_partitions)
    for key in (SUPPLY_COVER, KEY_ACCOUNT_SUPPLY_RISK)
]
