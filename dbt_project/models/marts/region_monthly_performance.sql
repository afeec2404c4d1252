{{ config(materialized='table') }}
-- Performance per sales region and month up to the as-of date, against the region targets
-- of the targets extract: net sales, gross margin, customers who bought, the region's share
-- of the company's sales, the latest delivered target and the achievement (only for whole
-- months inside the loaded sales history, macros/target_achievement.sql). A customer counts
-- in its region in the customer master in force on the as-of date, for every month (the
-- history restated to today's territories, the ones targets are set for); a customer
-- absent from that master counts in region 'unknown'. Rebuilt whole on every run.
with sales as (
    select customer_id, month, net_sales, gross_margin, purchase_days
    from {{ ref('int_sales_customer_months_to_date') }}
),

regions as (
    select customer_id, region from {{ ref('int_customers_in_force') }}
),

by_region as (
    select
        coalesce(regions.region, 'unknown') as region,
        sales.month,
        sum(sales.net_sales) as net_sales,
        sum(sales.gross_margin) as gross_margin,
        count(*) filter (where sales.purchase_days > 0) as active_customers
    from sales
    left join regions using (customer_id)
    group by all
),

targets as (
    -- the latest delivered target of each region and month (optional extract)
    -- a row_number subquery, as Spark 3.5 has no QUALIFY
    select region, month, target_net_sales, target_delivered_date
    from (
        select
            region,
            cast(period || '-01' as date) as month,
            target_net_sales,
            delivered_date as target_delivered_date,
            row_number() over (
                partition by region, period order by delivered_date desc
            ) as delivery_rank
        from {{ ref('stg_erp__targets') }}
        where region is not null and delivered_date <= {{ as_of_date() }}
    )
    where delivery_rank = 1
),

history as (
    select * from {{ ref('int_sales_history_loaded') }}
),

joined as (
    -- every region with sales in a month, and every region with a target that month (up
    -- to the as-of date's month) even without sales
    select
        region,
        month,
        coalesce(by_region.net_sales, 0) as net_sales,
        coalesce(by_region.gross_margin, 0) as gross_margin,
        coalesce(by_region.active_customers, 0) as active_customers,
        targets.target_net_sales,
        targets.target_delivered_date
    from by_region
    full join targets using (region, month)
    where month <= date_trunc('month', {{ as_of_date() }})
),

final as (
    select
        joined.region,
        joined.month,
        year(joined.month) as year,
        joined.net_sales,
        joined.gross_margin,
        {% call round_double(4) %}
            case
                when joined.net_sales > 0
                    then cast(joined.gross_margin as double) / joined.net_sales
            end
        {% endcall %} as margin_rate,
        joined.active_customers,
        {% call round_double(6) %}
            cast(joined.net_sales as double)
            / nullif(sum(joined.net_sales) over (partition by joined.month), 0)
        {% endcall %} as share_of_company_sales,
        joined.target_net_sales,
        joined.target_delivered_date,
        {{ target_achievement_columns(
            'joined.net_sales', 'joined.target_net_sales', 'joined.month'
        ) }}
    from joined
    cross join history
)

select * from final
