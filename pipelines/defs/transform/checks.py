"""Blocking checks on the marts that are published as dbt builds them: their GX suites (the
dbt tests of every model are checks of their own, from the dbt project)."""

from pipelines.defs.partitions import as_of_partitions
from pipelines.defs.transform.keys import CUSTOMER_FACTS, MONTHLY_MARTS, PRODUCT_PERFORMANCE
from pipelines.quality.checks import gx_table_check

CHECKS = [
    gx_table_check(CUSTOMER_FACTS, "customer_facts", "marts.customer_facts", as_of_partitions),
    gx_table_check(
        PRODUCT_PERFORMANCE,
        "product_performance",
        "marts.product_performance",
        as_of_partitions,
        per_as_of_date=False,
    ),
    *[
        gx_table_check(
            key, key.path[-1], f"marts.{key.path[-1]}", as_of_partitions, per_as_of_date=False
        )
        for key in MONTHLY_MARTS
    ],
]
