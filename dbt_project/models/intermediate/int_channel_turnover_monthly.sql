-- Channel inventory turnover per customer x product x month (SPEC F16): average inventory
-- = (stock at month start + stock at month end) / 2, where the month-start stock is the
-- latest snapshot of the previous month; turnover = the month's sales quantity / average
-- inventory. Months up to the as-of date's month; the DC is not a channel.
with snapshots as (
    select
        customer_id,
        product_id,
        date_trunc('month', snapshot_date)::date as month,
        quantity_on_hand,
    from {{ ref('stg_erp__inventory') }}
    where snapshot_date <= {{ as_of_date() }}
        and not is_distribution_centre
    qualify row_number() over (
        partition by customer_id, product_id, date_trunc('month', snapshot_date)
        order by snapshot_date desc
    ) = 1
),

month_ends as (
    select
        customer_id,
        product_id,
        month,
        quantity_on_hand as stock_end,
        lag(quantity_on_hand) over (
            partition by customer_id, product_id order by month
        ) as stock_start,
        lag(month) over (partition by customer_id, product_id order by month) as previous_month,
    from snapshots
),

sales as (
    select
        customer_id,
        product_id,
        month,
        sum(quantity) as sales_quantity,
    from {{ ref('int_sales_customer_product_months_to_date') }}
    group by all
),

final as (
    select
        month_ends.customer_id,
        month_ends.product_id,
        month_ends.month,
        -- a gap in the snapshots means the month-start stock is unknown: 0 is not assumed
        case when month_ends.previous_month = month_ends.month - interval 1 month
            then month_ends.stock_start end as stock_start,
        month_ends.stock_end,
        coalesce(sales.sales_quantity, 0) as sales_quantity,
    from month_ends
    left join sales using (customer_id, product_id, month)
)

select
    *,
    (stock_start + stock_end) / 2 as average_inventory,
    case when (stock_start + stock_end) > 0
        then round(sales_quantity / ((stock_start + stock_end) / 2), 4) end as turnover,
from final
