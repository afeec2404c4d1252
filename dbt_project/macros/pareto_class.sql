{#
  Classes by cumulative share (Pareto, ABC analysis; F4, F6, F14): the one rule behind
  the customer ABC class, the revenue and profit grades and the product ABC class.

  Rows are ranked by `value` descending (nulls last), then by `key`. The share of the
  positive values ranked before a row decides its class: the first class whose bound that
  share is below, else `rest`; so the row that crosses a boundary takes the higher class.
  Equal values share the class of the first of them. Rows whose value is not positive (or
  null) contribute nothing and take `rest`. `partition_by` (optional) ranks each group on
  its own, e.g. the products of each month.

  A model computes the rank and the two running sums in one CTE (pareto_rank,
  pareto_positive_total, pareto_positive_before) and the cumulative share and the class from
  them in the next (pareto_cumulative_share, pareto_class). The class compares DECIMAL sums,
  `positive_before < bound x positive_total`, which is exact: no share is divided out, so
  no rounding noise can put a row on the wrong side of a bound.
#}

{% macro _pareto_window(partition_by=none, order_by=none) -%}
    {%- if partition_by is not none %}partition by {{ partition_by }}{% endif -%}
    {%- if partition_by is not none and order_by is not none %} {% endif -%}
    {%- if order_by is not none %}order by {{ order_by }}{% endif -%}
{%- endmacro %}

{# The Pareto order: value descending with nulls last, then the key. #}
{% macro _pareto_order(value, key) -%}
    {{ value }} desc nulls last, {{ key }}
{%- endmacro %}

{# 1, 2, ... in the Pareto order (BIGINT). #}
{% macro pareto_rank(value, key, partition_by=none) -%}
    row_number() over ({{ _pareto_window(partition_by, _pareto_order(value, key)) }})
{%- endmacro %}

{# The sum of the positive values of the partition (the denominator of every share). #}
{% macro pareto_positive_total(value, partition_by=none) -%}
    sum(greatest({{ value }}, 0)) over ({{ _pareto_window(partition_by) }})
{%- endmacro %}

{# The sum of the positive values ranked before this row (0 for the first). #}
{% macro pareto_positive_before(value, key, partition_by=none) -%}
    coalesce(sum(greatest({{ value }}, 0)) over (
        {{ _pareto_window(partition_by, _pareto_order(value, key)) }}
        rows between unbounded preceding and 1 preceding
    ), 0)
{%- endmacro %}

{# The share of the positive total up to and including this row, rounded to 6 decimals
   (DOUBLE); null when the partition has no positive value or the row has no value. #}
{% macro pareto_cumulative_share(value, positive_before, positive_total) -%}
    case when {{ value }} is not null then {% call round_double(6) %}
        cast({{ positive_before }} + greatest({{ value }}, 0) as double)
        / nullif({{ positive_total }}, 0){% endcall %} end
{%- endmacro %}

{# The class: `bounds` is a list of (class, maximum cumulative share before) pairs, in
   increasing order of share, e.g. [('A', 0.80), ('B', 0.95)]; `rest` is the class after the
   last bound and of every row without a positive value. #}
{% macro pareto_class(value, positive_before, positive_total, bounds, rest, partition_by=none) -%}
    {%- set tie = (partition_by ~ ', ' if partition_by is not none else '') ~ value -%}
    case
        when coalesce({{ value }}, 0) <= 0 then '{{ rest }}'
        {%- for class, bound in bounds %}
        when min({{ positive_before }}) over (partition by {{ tie }})
            < {{ bound }} * {{ positive_total }} then '{{ class }}'
        {%- endfor %}
        else '{{ rest }}'
    end
{%- endmacro %}
