{# Spark: the rebuilt months overwrite their partitions (Parquet tables cannot delete) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['month'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    pre_hook="{{ delete_changed('month', months_of(changed_days())) }}",
) }}
-- Sales per product and calendar month (F14-F17), summed from the customer x product x
-- month compact facts. Incremental by month like them: a run rebuilds only the months
-- holding an order date whose sales file was loaded since the last build. Whole months of
-- every delivered day: int_sales_product_months_to_date cuts the as-of month at the as-of
-- date.
{%- set months = months_of(changed_days()) if is_incremental() else none %}
with customer_months as (
    select * from {{ ref('int_sales_customer_product_monthly') }}
    {%- if months is not none %}
    where {{ date_in('month', months) }}
    {%- endif %}
),

final as (
    select
        product_id,
        month,
        sum(net_sales) as net_sales,
        sum(gross_margin) as gross_margin,
        sum(quantity) as quantity,
        count(distinct customer_id) as customers,
        {{ changes_through_after(ref('int_sales_customer_product_monthly')) }} as changes_through
    from customer_months
    group by product_id, month
)

select * from final
