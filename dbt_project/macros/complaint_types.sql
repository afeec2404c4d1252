{#- The complaint types of the extract contract (docs/analyses.md#extract-contract), one column each where counted. -#}
{% macro complaint_types() %}
    {{ return(['product_quality', 'late_delivery', 'spec_mismatch', 'packaging', 'service']) }}
{% endmacro %}
