{# Spark: the rebuilt months overwrite their partitions (Parquet tables cannot delete) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['month'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    pre_hook="{{ delete_changed('month', months_of(changed_days())) }}",
) }}
-- Order lines compacted to one row per customer, product and calendar month (F14-F16 read
-- this instead of the lines). Incremental by month: a run rebuilds only the months holding
-- an order date whose sales file was loaded since the last build; `--full-refresh` rebuilds
-- it from every line. Holds whole months of every delivered day: the as-of month is taken
-- from the lines instead (int_sales_customer_product_months_to_date).
{%- set months = months_of(changed_days()) if is_incremental() else none %}
with lines as (
    select * from {{ ref('stg_erp__sales') }}
    {%- if months is not none %}
    where {{ date_in_months('order_date', months) }}
    {%- endif %}
),

final as (
    select
        customer_id,
        product_id,
        cast(date_trunc('month', order_date) as date) as month,
        sum(net_amount) as net_sales,
        sum(gross_margin) as gross_margin,
        sum(quantity) as quantity,
        count(*) as order_lines,
        {{ changes_through() }} as changes_through
    from lines
    group by customer_id, product_id, date_trunc('month', order_date)
)

select * from final
