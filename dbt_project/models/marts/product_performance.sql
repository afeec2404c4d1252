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
        customers
    from {{ ref('int_sales_product_months_to_date') }}
),

turnover as (
    -- whole months from the product rollup, the as-of month from its customers' rows
    select product_id, month, channel_sales_quantity, channel_average_inventory
    from {{ ref('int_channel_turnover_product_monthly') }}
    where month < cast(date_trunc('month', {{ as_of_date() }}) as date)
    union all
    select
        product_id,
        month,
        {{ channel_turnover_per_product() }}
    from {{ ref('int_channel_turnover_monthly') }}
    where month = cast(date_trunc('month', {{ as_of_date() }}) as date)
    group by product_id, month
),

targets as (
    -- the latest delivered target of each product and month (optional extract)
    -- a row_number subquery, as Spark 3.5 has no QUALIFY
    select product_id, month, target_net_sales
    from (
        select
            product_id,
            cast(period || '-01' as date) as month,
            target_net_sales,
            row_number() over (
                partition by product_id, period order by delivered_date desc
            ) as delivery_rank
        from {{ ref('stg_erp__targets') }}
        where product_id is not null and delivered_date <= {{ as_of_date() }}
    )
    where delivery_rank = 1
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
        {{ pareto_rank('net_sales', 'product_id', partition_by='month') }} as sales_rank
    from sales
),

shares as (
    select
        *,
        cast(net_sales as double) / nullif(positive_total, 0) as share_of_sales,
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
        ) }} as abc_class
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
        coalesce({% call round_double(6) %}shares.share_of_sales{% endcall %}, 0) as share_of_sales,
        shares.cumulative_share,
        -- a product with a target but no sales that month has no sales to classify: C
        coalesce(shares.abc_class, 'C') as abc_class,
        {% call round_double(4) %}
            case
                when shares.net_sales > 0
                    then cast(shares.gross_margin as double) / shares.net_sales
            end
        {% endcall %} as margin_rate,
        turnover.channel_sales_quantity,
        turnover.channel_average_inventory,
        {% call round_double(4) %}
            cast(turnover.channel_sales_quantity as double) / turnover.channel_average_inventory
        {% endcall %} as channel_turnover,
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
    {% call round_double(4) %}margin_rate * channel_turnover{% endcall %} as cross_ratio,
    {% call round_double(6) %}margin_rate * channel_turnover * share_of_sales{% endcall %} as contribution_ratio,
    {{ crm_setting('version') }} as config_version
from final
