{# Spark: the rebuilt months overwrite their partitions (Parquet tables cannot delete) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['month'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    pre_hook="{{ delete_changed('month', months_of(changed_days())) }}",
) }}
-- The compact customer-day facts rolled up to one row per customer and calendar month, so
-- lifetime figures (F1) and the monthly tables (F2, F19) read months, not every day of the
-- history. Incremental by month: a run rebuilds only the months holding an order date
-- whose sales file was loaded since the last build; `--full-refresh` rebuilds every month.
-- Holds whole months of every delivered day: readers take the as-of month from the days.
{%- set months = months_of(changed_days()) if is_incremental() else none %}
with days as (
    select * from {{ ref('int_sales_customer_daily') }}
    {%- if months is not none %}
    where {{ date_in_months('order_date', months) }}
    {%- endif %}
),

final as (
    select
        {{ customer_month_figures() }},
        {{ changes_through_after(ref('int_sales_customer_daily')) }} as changes_through
    from days
    group by customer_id, month
)

select * from final
