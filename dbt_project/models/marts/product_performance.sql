{{ config(materialized='table') }}
-- Product performance per product and month up to the as-of date's month (F14-F17):
-- sales composition with ABC class by the month's net sales, achievement vs the product's
-- target (whole months of the loaded sales history only), gross margin rate, channel
-- inventory turnover, cross ratio (margin rate x turnover) and contribution ratio (cross
-- ratio x share of sales). Rebuilt whole on every run.
with sales as (
    select
        product_id,
        month,
        net_sales,
        gross_margin,
        quantity as sales_quantity,
        customers,
    from {{ ref('int_sales_product_months_to_date') }}
),

turnover as (
    -- whole months from the product rollup, the as-of month from its customers' rows
    select product_id, month, channel_sales_quantity, channel_average_inventory,
    from {{ ref('int_channel_turnover_product_monthly') }}
    where month < date_trunc('month', {{ as_of_date() }})::date
    union all
    select
        product_id,
        month,
        {{ channel_turnover_per_product() }}
    from {{ ref('int_channel_turnover_monthly') }}
    where month = date_trunc('month', {{ as_of_date() }})::date
    group by product_id, month
),

targets as (
    -- the latest delivered target of each product and month (optional extract)
    select product_id, strptime(period, '%Y-%m')::date as month, target_net_sales
    from {{ ref('stg_erp__targets') }}
    where product_id is not null and delivered_date <= {{ as_of_date() }}
    qualify
        row_number() over (
            partition by product_id, period order by delivered_date desc
        ) = 1
),

products as (
    select product_id, category, price_tier from {{ ref('int_products_in_force') }}
),

history as (
    select * from {{ ref('int_sales_history_loaded') }}
),

ranked as (
    -- the Pareto rule of customers (F4) per month: macros/pareto_class.sql
    select
        sales.*,
        {{ pareto_positive_total('net_sales', partition_by='month') }} as positive_total,
        {{ pareto_positive_before('net_sales', 'product_id', partition_by='month') }}
            as positive_before,
        {{ pareto_rank('net_sales', 'product_id', partition_by='month') }} as sales_rank,
    from sales
),

shares as (
    select
        *,
        net_sales / nullif(positive_total, 0) as share_of_sales,
        {{ pareto_cumulative_share('net_sales', 'positive_before', 'positive_total') }}
            as cumulative_share,
        {{ pareto_class(
            'net_sales', 'positive_before', 'positive_total',
            [
                ('A', crm_setting('abc.a_max_cumulative_share')),
                ('B', crm_setting('abc.b_max_cumulative_share')),
            ],
            'C',
            partition_by='month'
        ) }} as abc_class,
    from ranked
),

final as (
    -- every product sold in a month, and every product with a target that month (up to
    -- the as-of date's month) even without sales: 0 achieved is a figure too, inside the
    -- loaded sales history
    select
        product_id,
        month,
        products.category,
        products.price_tier,
        coalesce(shares.net_sales, 0) as net_sales,
        coalesce(shares.gross_margin, 0) as gross_margin,
        coalesce(shares.sales_quantity, 0) as sales_quantity,
        coalesce(shares.customers, 0) as customers,
        shares.sales_rank,
        coalesce(round(shares.share_of_sales, 6), 0) as share_of_sales,
        shares.cumulative_share,
        -- a product with a target but no sales that month has no sales to classify: C
        coalesce(shares.abc_class, 'C') as abc_class,
        case
            when shares.net_sales > 0
                then round(shares.gross_margin / shares.net_sales, 4)
        end as margin_rate,
        turnover.channel_sales_quantity,
        turnover.channel_average_inventory,
        round(turnover.channel_sales_quantity / turnover.channel_average_inventory, 4)
            as channel_turnover,
        targets.target_net_sales,
        -- only whole months inside the loaded sales history (macros/target_achievement.sql)
        {{ target_achievement_columns(
            'coalesce(shares.net_sales, 0)', 'targets.target_net_sales', 'month'
        ) }}
    from shares
    full join (
        select * from targets
        where month <= date_trunc('month', {{ as_of_date() }})
    ) as targets using (product_id, month)
    left join turnover using (product_id, month)
    left join products using (product_id)
    cross join history
)

select
    *,
    round(margin_rate * channel_turnover, 4) as cross_ratio,
    round(margin_rate * channel_turnover * share_of_sales, 6) as contribution_ratio,
    {{ crm_setting('version') }} as config_version,
from final
