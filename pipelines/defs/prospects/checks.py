"""Blocking checks on the prospect grades: their GX suite."""

from pipelines.defs.partitions import as_of_partitions
from pipelines.defs.prospects.keys import PROSPECT_GRADES
from pipelines.quality.checks import gx_table_check

CHECKS = [
    gx_table_check(PROSPECT_GRADES, "prospect_grades", "scoring.prospect_grades", as_of_partitions)
]
