{# Spark: the rebuilt months overwrite their partitions (Parquet tables cannot delete) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['month'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    pre_hook="{{ delete_changed('month', turnover_months_to_rebuild()) }}",
) }}
-- Channel inventory turnover per customer x product x calendar month (F16) of every
-- delivered month, whole: a month before the as-of date's month holds the same figures for
-- every as-of date, so it is kept. Incremental by month: a run rebuilds the months holding
-- a sales or inventory date loaded since the last build, and the month after a changed
-- inventory month (its start stock); `--full-refresh` rebuilds every month.
-- int_channel_turnover_monthly adds the as-of month, cut at the as-of date.
{%- set months = turnover_months_to_rebuild() if is_incremental() else none %}
with snapshots as (
    -- the rebuilt months and the month before each (its last snapshot is the start stock)
    {{ month_end_snapshots(
        "true" if months is none
        else date_in_months('snapshot_date', (months + shifted_months(months, -1)) | unique | sort)
    ) }}
),

sales as (
    select customer_id, product_id, month, quantity as sales_quantity
    from {{ ref('int_sales_customer_product_monthly') }}
    {%- if months is not none %}
    where {{ date_in('month', months) }}
    {%- endif %}
),

turnover as (
    {{ channel_turnover('snapshots', 'sales') }}
)

select
    *,
    {{ changes_through_after(ref('int_sales_customer_product_monthly'), ['sales', 'inventory']) }}
        as changes_through
from turnover
{%- if months is not none %}
where {{ date_in('month', months) }}
{%- endif %}
