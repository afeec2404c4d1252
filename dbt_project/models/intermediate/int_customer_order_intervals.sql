-- Each customer's median gap between consecutive purchase days on or before the as-of date
-- (F19: a customer is at risk when the gap since the last order exceeds k times it).
-- A day with only returns (or zero quantities) is not a purchase.
with order_days as (
    select customer_id, order_date
    from {{ ref('int_sales_customer_daily') }}
    where order_date <= {{ as_of_date() }} and is_purchase_day
),

gaps as (
    select
        customer_id,
        {{ day_diff(
            'order_date', 'lag(order_date) over (partition by customer_id order by order_date)'
        ) }} as gap_days
    from order_days
)

select
    customer_id,
    median(gap_days) as median_order_interval_days,
    count(gap_days) as order_intervals
from gaps
where gap_days is not null
group by customer_id
