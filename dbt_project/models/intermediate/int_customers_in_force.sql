-- The customer master in force on the as-of date: the latest snapshot delivered on or
-- before it (SPEC §4), whole.
with snapshots as (
    select * from {{ ref('stg_erp__customers') }}
    where snapshot_date <= {{ as_of_date() }}
),

latest as (
    select max(snapshot_date) as snapshot_date from snapshots
),

final as (
    select snapshots.*
    from snapshots
    inner join latest using (snapshot_date)
)

select * from final
