"""Keys of the dbt models the Python assets read (dbt models are keyed <schema>/<model>)."""

import dagster as dg

CUSTOMER_FACTS = dg.AssetKey(["marts", "customer_facts"])
CUSTOMER_PARETO_CLASSES = dg.AssetKey(["intermediate", "int_customer_pareto_classes"])
CUSTOMER_AR = dg.AssetKey(["marts", "customer_ar"])
PRODUCT_PERFORMANCE = dg.AssetKey(["marts", "product_performance"])
PAYMENT_BEHAVIOUR = dg.AssetKey(["marts", "customer_payment_behaviour"])
MONTHLY_MARTS = [
    dg.AssetKey(["marts", "customer_monthly_performance"]),
    dg.AssetKey(["marts", "customer_retention_monthly"]),
    dg.AssetKey(["marts", "region_monthly_performance"]),
    dg.AssetKey(["marts", "complaints_monthly"]),
]
CREDIT_REVIEWS = dg.AssetKey(["staging", "stg_erp__credit_reviews"])
CUSTOMERS_IN_FORCE = dg.AssetKey(["intermediate", "int_customers_in_force"])
PROSPECTS_IN_FORCE = dg.AssetKey(["intermediate", "int_prospects_in_force"])
COVER_INPUTS = dg.AssetKey(["intermediate", "int_customer_product_cover"])
