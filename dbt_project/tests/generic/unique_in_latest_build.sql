{# One row per `columns` in an incremental model, checked over what its latest build wrote:
   every row sharing a `scope` value (a day, a month, a key) with the rows that carry the
   model's newest watermark (`watermark`: changes_through, or ledger_through for the AR
   ledger). A build deletes and appends whole days, months or customers and leaves the rest
   as it was, so a repeated key (a missed delete) always involves a row it wrote; a full
   build writes everything, so it is checked whole. The cost follows the day's changes, not
   the history. #}
{% test unique_in_latest_build(model, columns, scope, watermark='changes_through') %}
with written as (
    select distinct {{ scope }} from {{ model }}
    where {{ watermark }} = (select max({{ watermark }}) from {{ model }})
)

select {{ columns | join(', ') }}, count(*) as rows_for_the_key
from {{ model }}
where {{ scope }} in (select {{ scope }} from written)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
