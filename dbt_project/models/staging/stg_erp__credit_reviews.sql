-- Credit reviews (客户信用调查, optional extract), one row per customer and review date: the
-- checklist's three parts scored 0-100 (100 = best) and the security the company holds.
with source as (
    select * from {{ source('raw', 'credit_reviews') }}
),

renamed as (
    select
        customer_id,
        review_date,
        operating_score,
        financial_score,
        payment_score,
        cast(has_guarantor as boolean) as has_guarantor,
        collateral_amount,
        reviewer_id,
        _business_date as delivered_date,
        _file_name as file_name,
        _line_number as line_number
    from source
)

select * from renamed
