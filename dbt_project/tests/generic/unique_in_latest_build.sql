{# One row per `columns` in a compact incremental model, checked over the periods (days or
   months) its latest build wrote: the rows carrying the model's newest watermark
   (`changes_through`). A build deletes and appends whole periods and leaves the others as
   they were, so a repeated key (a missed delete) can only sit in a period it wrote; a full
   build writes every period, so it is checked whole. The cost follows the day's changes,
   not the history. #}
{% test unique_in_latest_build(model, columns, period) %}
with written as (
    select distinct {{ period }} from {{ model }}
    where changes_through = (select max(changes_through) from {{ model }})
)

select {{ columns | join(', ') }}, count(*) as rows_for_the_key
from {{ model }}
where {{ period }} in (select {{ period }} from written)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
