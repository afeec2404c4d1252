{{ config(materialized='table') }}
-- Monthly retention (F19): of the customers who bought in the previous month, how many
-- bought again this month; customers lost (bought last month, not this one) and new (first
-- purchase ever this month). Months up to the as-of date's month.
with active as (
    select customer_id, month from {{ ref('int_sales_customer_months_to_date') }}
),

flagged as (
    select
        active.customer_id,
        active.month,
        previous.customer_id is not null as bought_previous_month,
        active.month = min(active.month) over (partition by active.customer_id) as is_first_month
    from active
    left join active as previous
        on previous.customer_id = active.customer_id
        and previous.month = active.month - interval 1 month
),

per_month as (
    select
        month,
        count(*) as active_customers,
        count(*) filter (where bought_previous_month) as retained_customers,
        count(*) filter (where is_first_month) as new_customers
    from flagged
    group by month
),

final as (
    select
        per_month.month,
        per_month.active_customers,
        coalesce(previous.active_customers, 0) as active_previous_month,
        per_month.retained_customers,
        coalesce(previous.active_customers, 0) - per_month.retained_customers as lost_customers,
        per_month.new_customers
    from per_month
    left join per_month as previous on previous.month = per_month.month - interval 1 month
)

select
    *,
    {% call round_double(4) %}retained_customers / nullif(active_previous_month, 0){% endcall %} as retention_rate
from final
