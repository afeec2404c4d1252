{{ config(materialized='view') }}
-- Channel inventory turnover per customer x product x month up to the as-of date's month
-- (F16). Months before the as-of month are the same for every as-of date and come
-- from int_channel_turnover_whole_months; the as-of month is computed here from its
-- snapshots and sales up to the as-of date, with the previous month's last snapshot as the
-- start stock. The DC is not a channel. See macros/channel_turnover.sql for the formula.
with whole_months as (
    select
        customer_id,
        product_id,
        month,
        stock_start,
        stock_end,
        sales_quantity,
        average_inventory,
        turnover
    from {{ ref('int_channel_turnover_whole_months') }}
    where month < cast(date_trunc('month', {{ as_of_date() }}) as date)
),

snapshots as (
    -- the as-of month up to the as-of date, and the month before it
    {{ month_end_snapshots(
        "snapshot_date >= cast(date_trunc('month', " ~ as_of_date() ~ ") as date) - interval 1 month"
        ~ " and snapshot_date <= " ~ as_of_date()
    ) }}
),

sales as (
    select customer_id, product_id, month, quantity as sales_quantity
    from {{ ref('int_sales_customer_product_months_to_date') }}
    where month = cast(date_trunc('month', {{ as_of_date() }}) as date)
),

as_of_month as (
    select * from ({{ channel_turnover('snapshots', 'sales') }})
    where month = cast(date_trunc('month', {{ as_of_date() }}) as date)
)

select * from whole_months
union all
select * from as_of_month
