{# Spark: the rebuilt days overwrite their partitions (Parquet tables cannot delete) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['order_date'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    pre_hook="{{ delete_changed('order_date', changed_days()) }}",
) }}
-- Order lines compacted to one row per customer and order date: the customer-level facts
-- (F1, F2, F7, F19) read this instead of the lines. Incremental by day: a run rebuilds only
-- the order dates whose sales files were loaded since the last build (see
-- macros/changed_days.sql); `--full-refresh` rebuilds it from every line.
-- A purchase is a line with a positive quantity; orders are counted per order date.
{%- set days = changed_days() if is_incremental() else none %}
with lines as (
    select * from {{ ref('stg_erp__sales') }}
    {%- if days is not none %}
    where {{ date_in('order_date', days) }}
    {%- endif %}
),

final as (
    select
        customer_id,
        order_date,
        sum(net_amount) as net_sales,
        sum(gross_margin) as gross_margin,
        sum(cost_amount) as cost_amount,
        bool_and(has_cost) as has_cost,
        sum(discount_amount) as discount_amount,
        coalesce(-sum(net_amount) filter (where is_return), 0) as returns,
        bool_or(is_purchase) as is_purchase_day,
        count(distinct order_id) as orders,
        count(distinct order_id) filter (where is_purchase) as purchase_orders,
        count(*) as order_lines,
        {{ changes_through() }} as changes_through
    from lines
    group by customer_id, order_date
)

select * from final
{%- if days is none %}
-- stored in date order, so readers of a window skip the other days by zone maps
order by order_date
{%- endif %}
