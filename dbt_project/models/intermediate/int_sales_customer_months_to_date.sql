{{ config(materialized='view') }}
-- Sales per customer and month up to the as-of date: whole months before the as-of month
-- from the compact monthly table, the as-of month from its days up to and including the
-- as-of date (so a backfilled as-of date does not see later days of its month).
with whole_months as (
    -- the columns of customer_month_figures(), in its order (Spark has no `* exclude`)
    select
        customer_id,
        month,
        net_sales,
        gross_margin,
        has_cost,
        orders,
        purchase_orders,
        purchase_days,
        purchase_days_net_sales,
        first_purchase_date,
        last_purchase_date,
        first_purchase_day_net_sales
    from {{ ref('int_sales_customer_monthly') }}
    where month < cast(date_trunc('month', {{ as_of_date() }}) as date)
),

as_of_month as (
    select
        {{ customer_month_figures() }}
    from {{ ref('int_sales_customer_daily') }}
    where order_date >= cast(date_trunc('month', {{ as_of_date() }}) as date)
        and order_date <= {{ as_of_date() }}
    group by customer_id, month
)

-- both sides list the same columns in the same order (Spark has no `union all by name`)
select * from whole_months
union all
select * from as_of_month
