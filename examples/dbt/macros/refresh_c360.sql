{#-
  dbt run-operation refresh_c360 [--args '{rebuild_facts: true}']
  Runs c360.refresh_c360() and logs its steps. Use it before `dbt build`
  (or as an on-run-start hook: "select count(*) from c360.refresh_c360()").
-#}
{% macro refresh_c360(rebuild_facts=false) %}
  {% set result = run_query("select step, rows, ms from c360.refresh_c360(" ~ (rebuild_facts | string | lower) ~ ")") %}
  {% do run_query("commit") %}
  {% for row in result.rows %}
    {{ log("c360 refresh: " ~ row[0] ~ " " ~ (row[1] if row[1] is not none else "") ~ " rows, " ~ row[2] ~ " ms", info=true) }}
  {% endfor %}
{% endmacro %}

{#- Schema names as given (analytics), not prefixed with the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
