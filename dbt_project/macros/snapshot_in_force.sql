{# Master data in force on the as-of date (SPEC §4): the whole latest snapshot delivered on
   or before it. #}
{% macro snapshot_in_force(staging_model) -%}
with snapshots as (
    select * from {{ ref(staging_model) }}
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
{%- endmacro %}
