{{ config(materialized='table') }}
-- Complaints per month received, type and severity up to the as-of date (F20): how many
-- came in, how many are still open at the as-of date, how long the resolved ones took and how
-- satisfied the customers were. Rebuilt whole on every run; empty when the optional
-- complaints extract has not landed.
with complaints as (
    select
        *,
        cast(date_trunc('month', received_date) as date) as month,
        resolved_date is not null and resolved_date <= {{ as_of_date() }} as is_resolved
    from {{ ref('stg_erp__complaints') }}
    where received_date <= {{ as_of_date() }}
),

final as (
    select
        month,
        complaint_type,
        severity,
        count(*) as complaints,
        count(distinct customer_id) as customers,
        count(*) filter (where is_resolved) as resolved,
        count(*) filter (where not is_resolved) as open_at_as_of_date,
        {% call round_double(1) %}avg({{ day_diff('resolved_date', 'received_date') }}) filter (where is_resolved){% endcall %}
            as avg_days_to_resolve,
        median({{ day_diff('resolved_date', 'received_date') }}) filter (where is_resolved)
            as median_days_to_resolve,
        max({{ day_diff('resolved_date', 'received_date') }}) filter (where is_resolved)
            as max_days_to_resolve,
        -- a score is known once the complaint is resolved, not before
        {% call round_double(2) %}avg(satisfaction_score) filter (where is_resolved){% endcall %} as avg_satisfaction,
        count(satisfaction_score) filter (where is_resolved) as satisfaction_responses
    from complaints
    group by all
)

select * from final
