{# One row per `columns` in an incremental model, checked over what was written since the
   test last passed: every row sharing a `scope` value (a day, a month, a key) with the rows
   whose watermark (`watermark`: changes_through, or ledger_through for the AR ledger) is
   the model's newest or newer than the one recorded when this test last passed (the
   on-run-end hook record_unique_in_latest_build_passes keeps it). A build deletes and
   appends whole days, months or customers and leaves the rest as it was, so a repeated key
   (a missed delete) always involves a row written since; one that failed the test is
   checked again at every run until it is gone, whatever later builds write. With no pass
   recorded yet the whole model is checked. The cost follows the day's changes, not the
   history. #}
{% test unique_in_latest_build(model, columns, scope, watermark='changes_through') %}
{%- set passed_through = unique_in_latest_build_passed_through(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_for_the_key
from {{ model }}
{%- if passed_through is not none %}
where {{ scope }} in (
    select distinct {{ scope }} from {{ model }}
    where {{ watermark }} = (select max({{ watermark }}) from {{ model }})
        or {{ watermark }} > cast('{{ passed_through }}' as timestamp)
)
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
