{{ config(meta={"dagster": {"ref": {"name": "int_sales_customer_daily"}}}) }}

-- The compact sales facts hold one row per grain: an incremental build that missed a
-- delete would show here as a repeated customer-day or customer-product-month.
select 'int_sales_customer_daily' as model, customer_id, null as product_id, order_date as day
from {{ ref('int_sales_customer_daily') }}
group by customer_id, order_date
having count(*) > 1

union all

select 'int_sales_customer_product_monthly', customer_id, product_id, month
from {{ ref('int_sales_customer_product_monthly') }}
group by customer_id, product_id, month
having count(*) > 1
