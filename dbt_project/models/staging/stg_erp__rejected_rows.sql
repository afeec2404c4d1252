with source as (
    select * from {{ source('raw', 'rejected_rows') }}
)

select
    extract,
    file_name,
    line_number,
    column_name,
    reason,
    business_date,
    file_sha256,
    run_id
from source
