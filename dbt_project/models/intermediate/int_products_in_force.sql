-- The product master in force on the as-of date: the latest snapshot on or before it.
with snapshots as (
    select * from {{ ref('stg_erp__products') }}
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
