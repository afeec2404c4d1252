{{ config(meta={"dagster": {"ref": {"name": "int_sales_product_monthly"}}}) }}

-- One row per product and month (see assert_compact_sales_unique).
select product_id, month, count(*) as rows_for_the_month
from {{ ref('int_sales_product_monthly') }}
group by product_id, month
having count(*) > 1
