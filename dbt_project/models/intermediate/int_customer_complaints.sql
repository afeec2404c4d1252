-- Complaints per customer as of the run's date (F20): counts in 12m by type and severity, open
-- complaints, days to resolve and satisfaction. Empty when the optional extract is absent.
with complaints as (
    select * from {{ ref('stg_erp__complaints') }}
    where received_date <= {{ as_of_date() }}
),

final as (
    select
        customer_id,
        count(*) filter (where received_date > {{ as_of_date() }} - 365) as complaints_12m,
        count(*) filter (
            where received_date > {{ as_of_date() }} - 365 and severity = 3
        ) as severe_complaints_12m,
        {% for complaint_type in complaint_types() %}
        count(*) filter (
            where received_date > {{ as_of_date() }} - 365
            and complaint_type = '{{ complaint_type }}'
        ) as {{ complaint_type }}_complaints_12m,
        {% endfor %}
        count(*) filter (
            where resolved_date is null or resolved_date > {{ as_of_date() }}
        ) as open_complaints,
        avg({{ day_diff('resolved_date', 'received_date') }}) filter (
            where resolved_date <= {{ as_of_date() }}
            and received_date > {{ as_of_date() }} - 365
        ) as avg_days_to_resolve_12m,
        -- a score is known once the complaint is resolved, not before
        avg(satisfaction_score) filter (
            where received_date > {{ as_of_date() }} - 365
            and resolved_date <= {{ as_of_date() }}
        ) as avg_satisfaction_12m
    from complaints
    group by customer_id
)

select * from final
