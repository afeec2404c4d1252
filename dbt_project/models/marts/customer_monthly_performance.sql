{{ config(materialized='table') }}
-- Transaction performance per customer and month up to the as-of date (F2): net sales,
-- gross margin, orders, the customer's share of the company's sales that month, and the
-- achievement against the customer's target where one exists (latest delivered target for
-- the month). Achievement only for whole months inside the loaded sales history, null with
-- the reason elsewhere (macros/target_achievement.sql). Rebuilt whole on every run from the
-- compact customer-month facts; sum the months for a year.
with sales as (
    select customer_id, month, net_sales, gross_margin, cast(orders as bigint) as order_count
    from {{ ref('int_sales_customer_months_to_date') }}
),

targets as (
    -- a row_number subquery, as Spark 3.5 has no QUALIFY
    select customer_id, month, target_net_sales
    from (
        select
            customer_id,
            cast(period || '-01' as date) as month,
            target_net_sales,
            row_number() over (
                partition by customer_id, period order by delivered_date desc
            ) as delivery_rank
        from {{ ref('stg_erp__targets') }}
        where customer_id is not null and delivered_date <= {{ as_of_date() }}
    )
    where delivery_rank = 1
),

history as (
    select * from {{ ref('int_sales_history_loaded') }}
),

final as (
    select
        coalesce(sales.customer_id, targets.customer_id) as customer_id,
        coalesce(sales.month, targets.month) as month,
        year(coalesce(sales.month, targets.month)) as year,
        coalesce(sales.net_sales, 0) as net_sales,
        coalesce(sales.gross_margin, 0) as gross_margin,
        coalesce(sales.order_count, 0) as order_count,
        {% call round_double(6) %}
            cast(coalesce(sales.net_sales, 0) as double)
            / nullif(
                sum(sales.net_sales) over (partition by coalesce(sales.month, targets.month)), 0
            ){% endcall %} as share_of_company_sales,
        targets.target_net_sales,
        {{ target_achievement_columns(
            'coalesce(sales.net_sales, 0)',
            'targets.target_net_sales',
            'coalesce(sales.month, targets.month)'
        ) }}
    from sales
    full join targets using (customer_id, month)
    cross join history
    where coalesce(sales.month, targets.month) <= date_trunc('month', {{ as_of_date() }})
)

select * from final
