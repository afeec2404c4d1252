{{ config(materialized='view') }}
-- Sales per customer and month up to the as-of date: whole months before the as-of month
-- from the compact monthly table, the as-of month from its days up to and including the
-- as-of date (so a backfilled as-of date does not see later days of its month).
with whole_months as (
    select * exclude (changes_through)
    from {{ ref('int_sales_customer_monthly') }}
    where month < date_trunc('month', {{ as_of_date() }})::date
),

as_of_month as (
    select
        {{ customer_month_figures() }}
    from {{ ref('int_sales_customer_daily') }}
    where order_date >= date_trunc('month', {{ as_of_date() }})::date
        and order_date <= {{ as_of_date() }}
    group by customer_id, month
)

select * from whole_months
union all by name
select * from as_of_month
