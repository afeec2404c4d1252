{{ config(meta={"dagster": {"ref": {"name": "int_sales_customer_daily"}}}) }}

-- One row per customer and order date: an incremental build that missed a delete would
-- show here as a repeated customer-day.
select customer_id, order_date, count(*) as rows_for_the_day
from {{ ref('int_sales_customer_daily') }}
group by customer_id, order_date
having count(*) > 1
