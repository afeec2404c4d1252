{{ config(materialized='view') }}
-- The AR ledger's items (int_ar_items, F21) aged as of the run's date: days past the due
-- date in force and the aging bucket of every open item (none for unapplied credit or a
-- settled item). A view: aging is the only part of the ledger that depends on the as-of
-- date, and it is cheap.
with items as (
    select * from {{ ref('int_ar_items') }}
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        *,
        case
            when due_date is not null then greatest({{ day_diff(as_of_date(), 'due_date') }}, 0)
        end as days_past_due,
        case
            when item_type = 'unapplied_credit' or open_amount = 0 then null
            when {{ as_of_date() }} <= due_date then 'current'
            when {{ day_diff(as_of_date(), 'due_date') }} <= 30 then '1_30'
            when {{ day_diff(as_of_date(), 'due_date') }} <= 60 then '31_60'
            when {{ day_diff(as_of_date(), 'due_date') }} <= 90 then '61_90'
            when {{ day_diff(as_of_date(), 'due_date') }} <= 180 then '91_180'
            else 'over_180'
        end as aging_bucket
    from items
)

select * from final
