{# SQL that DuckDB and Spark (the profile targets local and spark_local) spell differently.
   Every model, macro and test calls these instead of one engine's syntax; the DuckDB
   branch renders exactly what the models wrote before they ran on Spark too. #}

{# Whole days from `b` to `a` (INTEGER): Spark's `date - date` is an interval, not a number. #}
{% macro day_diff(a, b) -%}
    {{ return(adapter.dispatch('day_diff')(a, b)) }}
{%- endmacro %}

{% macro default__day_diff(a, b) -%}
    ({{ a }} - {{ b }})
{%- endmacro %}

{% macro spark__day_diff(a, b) -%}
    datediff({{ a }}, {{ b }})
{%- endmacro %}

{# first_value skipping nulls, before its `over (...)`: DuckDB puts IGNORE NULLS inside the
   parentheses, Spark after them. #}
{% macro first_value_ignore_nulls(expression) -%}
    {{ return(adapter.dispatch('first_value_ignore_nulls')(expression)) }}
{%- endmacro %}

{% macro default__first_value_ignore_nulls(expression) -%}
    first_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__first_value_ignore_nulls(expression) -%}
    first_value({{ expression }}) ignore nulls
{%- endmacro %}

{# An order-free fingerprint of a group of rows (aggregate): the XOR of a 64-bit hash of each
   row's `columns`. The engines hash differently (DuckDB's hash() is UBIGINT, Spark has
   xxhash64), so fingerprints compare only within one engine; each detects the same changes.
   Spark's hashes skip nulls, so which columns are null is hashed too. #}
{% macro rows_fingerprint(columns) -%}
    {{ return(adapter.dispatch('rows_fingerprint')(columns)) }}
{%- endmacro %}

{% macro default__rows_fingerprint(columns) -%}
    bit_xor(hash({{ columns | join(', ') }}))
{%- endmacro %}

{% macro spark__rows_fingerprint(columns) -%}
    bit_xor(xxhash64(
        {{- columns | join(', ') }}, {% for column in columns %}{{ column }} is null{{ ", " if not loop.last }}{% endfor -%}
    ))
{%- endmacro %}

{# round(<caller>, digits) of a DOUBLE as DuckDB rounds it: the value times 10^digits rounded
   half away from zero, divided back. Spark rounds the double's decimal value instead, so a
   ratio such as 34.87 / 40 (0.87175, stored just below it) would round down there and up on
   DuckDB. Use as {% call round_double(4) %}expression{% endcall %}. #}
{% macro round_double(digits) -%}
    {{ return(adapter.dispatch('round_double')(caller(), digits)) }}
{%- endmacro %}

{% macro default__round_double(expression, digits) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro spark__round_double(expression, digits) -%}
    (round(({{ expression }}) * {{ 10 ** digits }}, 0) / {{ 10 ** digits }})
{%- endmacro %}
