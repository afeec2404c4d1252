{{ config(meta={"dagster": {"ref": {"name": "int_sales_customer_product_monthly"}}}) }}

-- One row per customer, product and month: an incremental build that missed a delete
-- would show here as a repeated customer-product-month.
select customer_id, product_id, month, count(*) as rows_for_the_month
from {{ ref('int_sales_customer_product_monthly') }}
group by customer_id, product_id, month
having count(*) > 1
