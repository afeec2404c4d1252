{# incremental by as-of date (dbt_project.yml); Spark overwrites the as-of date's partition
   instead of delete+insert #}
{% if target.type == 'spark' %}
{{ config(incremental_strategy='insert_overwrite', partition_by=['as_of_date'], file_format='parquet') }}
{% endif %}
-- Payment behaviour per customer and as-of date (F22). Each invoice is paid in
-- portions (int_ar_credit_applications): a portion is paid on its credit's date (or the
-- invoice's, for credit that came first) and is late by the days from the due date in force
-- to then; a portion still open past its due date is late by the days up to the as-of date
-- and is observed on it. Late share: of the invoices due in the 365 days up to the as-of
-- date, those with any portion late. Days late: amount-weighted over the portions observed
-- in those 365 days (paid, or still open past due), and per quarter of 91 days (quarter 1
-- = the last 91 days) over the portions paid in it, so every quarter is measured the same
-- way and a trend is not an artefact of recent invoices having had less time to be late
-- (what is still open shows in the 12m figure and the aging); the trend is quarter 1
-- minus quarter 2 (rising = worse). The recent figure against the customer's own baseline
-- (what DETERIORATING reads) does count what is still open: days late of the last 91 days =
-- portions paid in them and portions still open past due on the as-of date (late by the days
-- overdue so far), so a customer who stops paying shows a rise; the baseline = portions paid
-- in the 274 days before them. Extensions and bounced payments (reversals) count by their
-- own dates.
with invoices as (
    -- only invoices due in the 12 months up to the as-of date are counted (lateness)
    select * from {{ ref('int_ar_invoices') }}
    where due_date <= {{ as_of_date() }} and due_date > {{ as_of_date() }} - 365
),

paid_portions as (
    -- the portions observed in the 12 months (days late), or of an invoice due in them
    -- (lateness); the application carries its invoice's date and due date in force
    select
        customer_id,
        invoice_id,
        due_date,
        greatest(credit_date, invoice_date) as observed_date,
        applied_amount as amount,
        false as is_open
    from {{ ref('int_ar_credit_applications') }}
    where credit_date > {{ as_of_date() }} - 365
        or invoice_date > {{ as_of_date() }} - 365
        or due_date > {{ as_of_date() }} - 365
),

open_portions as (
    select
        customer_id,
        item_id as invoice_id,
        due_date,
        {{ as_of_date() }} as observed_date,
        open_amount as amount,
        true as is_open
    from {{ ref('int_ar_items_aged') }}
    where item_type = 'invoice' and open_amount > 0 and due_date < {{ as_of_date() }}
),

portions as (
    select
        *,
        greatest({{ day_diff('observed_date', 'due_date') }}, 0) as days_late,
        least(
            cast(floor({{ day_diff(as_of_date(), 'observed_date') }} / 91) as integer) + 1, 4
        ) as quarter
    from (
        select * from paid_portions
        union all
        select * from open_portions
    )
),

lateness as (
    -- invoices due in 12m: late when any portion is paid after, or still open past, the due date
    select
        customer_id,
        count(*) as invoices_due_12m,
        count(*) filter (where is_late) as late_invoices_12m
    from (
        select invoices.customer_id, invoices.invoice_id, bool_or(portions.days_late > 0) as is_late
        from invoices
        left join portions using (invoice_id)
        where invoices.due_date <= {{ as_of_date() }}
            and invoices.due_date > {{ as_of_date() }} - 365
        group by all
    )
    group by all
),

days_late as (
    select
        customer_id,
        cast(sum(amount * days_late) as double) / nullif(sum(amount), 0) as avg_days_late_12m,
        {% for q in [1, 2, 3, 4] %}
        cast(sum(amount * days_late) filter (where quarter = {{ q }} and not is_open) as double)
        / nullif(sum(amount) filter (where quarter = {{ q }} and not is_open), 0)
            as avg_days_late_q{{ q }},
        {% endfor %}
        cast(
            sum(amount * days_late) filter (where observed_date > {{ as_of_date() }} - 91) as double
        )
        / nullif(sum(amount) filter (where observed_date > {{ as_of_date() }} - 91), 0)
            as days_late_recent_91d,
        count(distinct invoice_id) filter (where observed_date > {{ as_of_date() }} - 91)
            as invoices_recent_91d,
        count(distinct invoice_id) filter (
            where observed_date > {{ as_of_date() }} - 91 and days_late > 0
        ) as late_invoices_recent_91d,
        cast(
            sum(amount * days_late) filter (where observed_date <= {{ as_of_date() }} - 91)
            as double
        )
        / nullif(sum(amount) filter (where observed_date <= {{ as_of_date() }} - 91), 0)
            as days_late_baseline,
        count(distinct invoice_id) filter (where observed_date <= {{ as_of_date() }} - 91)
            as invoices_baseline,
        count(distinct invoice_id) filter (
            where observed_date <= {{ as_of_date() }} - 91 and days_late > 0
        ) as late_invoices_baseline
    from portions
    where observed_date > {{ as_of_date() }} - 365
    group by all
),

invoice_lateness as (
    -- each invoice's days late within a window (recent 91 days or the baseline before them),
    -- weighted by its portions' amounts: the observations the rise is tested on
    select
        customer_id,
        invoice_id,
        observed_date > {{ as_of_date() }} - 91 as is_recent,
        cast(sum(amount * days_late) as double) / nullif(sum(amount), 0) as days_late
    from portions
    where observed_date > {{ as_of_date() }} - 365
    group by all
),

rise as (
    -- the rise of the recent invoices' mean days late over the baseline invoices' mean, in
    -- standard errors of that difference (Welch), floored at one day: a rise the customer's
    -- own variation explains scores low
    select
        customer_id,
        (avg(days_late) filter (where is_recent) - avg(days_late) filter (where not is_recent))
        / greatest(sqrt(
            coalesce(var_samp(days_late) filter (where is_recent), 0)
            / nullif(count(days_late) filter (where is_recent), 0)
            + coalesce(var_samp(days_late) filter (where not is_recent), 0)
            / nullif(count(days_late) filter (where not is_recent), 0)
        ), 1) as days_late_rise_se
    from invoice_lateness
    group by all
),

invoices_90d as (
    -- invoices issued in the last 90 days: the base of the share of them extended
    select customer_id, count(*) as invoices_issued_90d
    from {{ ref('int_ar_invoices') }}
    where doc_date <= {{ as_of_date() }} and doc_date > {{ as_of_date() }} - 90
    group by all
),

events as (
    select
        customer_id,
        count(*) filter (where doc_type = 'extension' and doc_date > {{ as_of_date() }} - 90)
            as extension_requests_90d,
        count(*) filter (
            where doc_type = 'extension' and doc_date > {{ as_of_date() }} - 365
        ) as extension_requests_12m,
        count(*) filter (
            where doc_type = 'reversal'
            and doc_date > {{ as_of_date() }} - {{ crm_setting('credit.bounced_lookback_days') }}
        ) as bounced_payments_90d,
        count(*) filter (where doc_type = 'reversal' and doc_date > {{ as_of_date() }} - 365)
            as bounced_payments_12m,
        coalesce(sum(amount) filter (
            where doc_type = 'reversal'
            and doc_date > {{ as_of_date() }} - {{ crm_setting('credit.bounced_lookback_days') }}
        ), 0) as bounced_amount_90d
    from {{ ref('stg_erp__payments') }}
    where doc_date <= {{ as_of_date() }}
        and doc_date > {{ as_of_date() }} - greatest(
            365, {{ crm_setting('credit.bounced_lookback_days') }}
        )
        and doc_type in ('extension', 'reversal')
    group by all
),

customers as (
    select customer_id from {{ ref('customer_facts') }}
    where as_of_date = {{ as_of_date() }}
)

select
    customers.customer_id,
    {{ as_of_date() }} as as_of_date,
    coalesce(lateness.invoices_due_12m, 0) as invoices_due_12m,
    coalesce(lateness.late_invoices_12m, 0) as late_invoices_12m,
    {% call round_double(4) %}lateness.late_invoices_12m / nullif(lateness.invoices_due_12m, 0){% endcall %}
        as late_invoice_share_12m,
    {% call round_double(1) %}days_late.avg_days_late_12m{% endcall %} as avg_days_late_12m,
    {% for q in [1, 2, 3, 4] %}
    {% call round_double(1) %}days_late.avg_days_late_q{{ q }}{% endcall %} as avg_days_late_q{{ q }},
    {% endfor %}
    {% call round_double(1) %}days_late.avg_days_late_q1 - days_late.avg_days_late_q2{% endcall %} as days_late_trend,
    {% call round_double(1) %}days_late.days_late_recent_91d{% endcall %} as days_late_recent_91d,
    coalesce(days_late.invoices_recent_91d, 0) as invoices_recent_91d,
    coalesce(days_late.late_invoices_recent_91d, 0) as late_invoices_recent_91d,
    {% call round_double(1) %}days_late.days_late_baseline{% endcall %} as days_late_baseline,
    coalesce(days_late.invoices_baseline, 0) as invoices_baseline,
    coalesce(days_late.late_invoices_baseline, 0) as late_invoices_baseline,
    {% call round_double(1) %}days_late.days_late_recent_91d - days_late.days_late_baseline{% endcall %} as days_late_rise,
    {% call round_double(2) %}rise.days_late_rise_se{% endcall %} as days_late_rise_se,
    coalesce(invoices_90d.invoices_issued_90d, 0) as invoices_issued_90d,
    coalesce(events.extension_requests_90d, 0) as extension_requests_90d,
    coalesce(events.extension_requests_12m, 0) as extension_requests_12m,
    coalesce(events.bounced_payments_90d, 0) as bounced_payments_90d,
    coalesce(events.bounced_amount_90d, 0) as bounced_amount_90d,
    coalesce(events.bounced_payments_12m, 0) as bounced_payments_12m
from customers
left join lateness using (customer_id)
left join days_late using (customer_id)
left join events using (customer_id)
left join invoices_90d using (customer_id)
left join rise using (customer_id)
