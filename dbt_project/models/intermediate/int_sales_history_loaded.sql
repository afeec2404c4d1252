-- The span of the loaded sales history on the as-of date, one row: the first business date
-- of a sales file loaded (its current version) on or before the as-of date. Sales files are
-- daily deltas, so a month before that date holds no loaded sales, and the month it falls in
-- only part of its sales unless it is the month's first day. Achievement against a target
-- (F2, F14, region performance) is computed only for whole loaded months
-- (macros/target_achievement.sql).
with sales_files as (
    select business_date
    from {{ source('raw', 'delivery_manifest') }}
    where extract = 'sales' and is_current and business_date <= {{ as_of_date() }}
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        min(business_date) as first_sales_date,
        max(business_date) as last_sales_date,
        count(distinct business_date) as sales_days_loaded
    from sales_files
)

select * from final
