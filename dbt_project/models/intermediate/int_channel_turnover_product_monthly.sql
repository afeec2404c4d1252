{# Spark: the rebuilt months overwrite their partitions (Parquet tables cannot delete) #}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['month'] if target.type == 'spark' else none,
    file_format='parquet' if target.type == 'spark' else none,
    pre_hook="{{ delete_changed('month', turnover_months_to_rebuild()) }}",
) }}
-- Channel turnover (F16) of every delivered month, whole, summed per product and month over
-- the customers with stock: the figures product performance reads instead of every
-- customer x product x month of the history. Incremental by month like
-- int_channel_turnover_whole_months (the months it rebuilds); `--full-refresh` rebuilds
-- every month. The as-of month comes from int_channel_turnover_monthly.
{%- set months = turnover_months_to_rebuild() if is_incremental() else none %}
with customer_months as (
    select * from {{ ref('int_channel_turnover_whole_months') }}
    {%- if months is not none %}
    where {{ date_in('month', months) }}
    {%- endif %}
)

select
    product_id,
    month,
    {{ channel_turnover_per_product() }},
    {{ changes_through_after(
        ref('int_channel_turnover_whole_months'), ['sales', 'inventory'], ['sales', 'inventory']
    ) }}
        as changes_through
from customer_months
group by product_id, month
