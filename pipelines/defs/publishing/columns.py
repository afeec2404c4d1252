"""What every published table and column means: written into the warehouse as DuckDB
comments (BI tools show them), and checked by a test to cover every published column.

Tables built by dbt take their descriptions from the dbt YAML (through the manifest); the
tables built in Python are described here.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.config import CrmConfig, load_config
from pipelines.defs.transform.manifest import model_columns
from pipelines.settings import PROJECT_ROOT, environment_path

TABLES = {
    "customer_facts": "Customer facts (F1) per customer and as-of date; built by dbt.",
    "customer_tiers": "Customer tiers per customer and as-of date: ABC, size, grades, RFM, "
    "CLV, value, development and dimension classes, recommended treatment (F4-F13).",
    "credit_flags": "AR aging, payment behaviour, the credit rating (score and class A-D), the "
    "credit limit and how it was reached, exposure, flags with reason codes and the figures "
    "behind them, the recommended action and since when, per customer and as-of date "
    "(F21-F24).",
    "credit_scorecard": "The credit rating component by component, per customer and as-of "
    "date: the figure each scorecard line reads, the points it gave and the most it can "
    "give (F23); credit_score = (1 - review weight) x the sum of the points + review weight "
    "x the review score when a credit review is in force, else the sum.",
    "customer_monthly_performance": "Customer x month: net sales, margin, orders, share of "
    "company sales and achievement vs target (F2); built by dbt.",
    "customer_retention_monthly": "Month: active, retained, lost and new customers and the "
    "retention rate (F19); built by dbt.",
    "region_monthly_performance": "Sales region x month: net sales, margin, customers who "
    "bought, share of company sales and achievement vs the region target (whole months of "
    "the loaded sales history); built by dbt.",
    "product_performance": "Product x month: sales composition and ABC, achievement vs target, "
    "margin rate, channel inventory turnover, cross and contribution ratios (F14-F17); built "
    "by dbt.",
    "complaints_monthly": "Month received x complaint type x severity: counts, open, days to "
    "resolve and satisfaction (F20); built by dbt; empty without the complaints extract.",
    "supply_cover": "Key-account supply assurance per key account (vip, large or ABC A), "
    "product and as-of date: days of channel stock cover and the flag below the threshold "
    "in force, stricter before peak seasons (F18).",
    "key_account_supply_risk": "Key-account supply assurance per key account and as-of date: "
    "products in scope, at risk and out of stock, the sell-in value at risk, ranked so the "
    "accounts with most at risk come first (F18).",
    "credit_flag_changes": "Credit reason codes raised and cleared per customer between an "
    "as-of date and the previous one computed, with the action before and after (F24 history).",
    "credit_company_view": "Company credit position per as-of date: total AR against the "
    "receivables warning line, concentration in the top debtors, flagged exposure (F25).",
    "credit_watch_list": "Customers whose credit flags call for action, largest exposure first, "
    "with their value classes, per as-of date (F25).",
    "customer_composition": "Sales and share by customer type, region and ABC class within "
    "type, per as-of date (F3).",
    "prospect_grades": "Prospects graded A-D by likelihood to close, with the points behind "
    "each grade, per as-of date (F10); empty without the prospects extract.",
    "tier_migrations": "Class changes per customer and dimension between an as-of date and the "
    "previous one computed (F13).",
    "data_quality_results": "Every check of every run (GX expectations, dbt tests, "
    "reconciliation), passed or failed, with counts and never values.",
    "rejected_rows": "Rows quarantined on arrival, one row per broken rule.",
    "delivery_manifest": "Every delivered file version with its hash and row counts.",
    "publication": "One row: the newest as-of date published, with the run, time and "
    "configuration version of the publication that last wrote it (a backfill of an older "
    "date leaves it there), and the last run to publish beside it (last_run_...).",
    "publication_history": "Every publication so far, newest last; the newest ones are kept as "
    "files in history/ next to the warehouse.",
}

# Python tables that carry columns of a dbt model: those columns keep the model's description.
COLUMNS_FROM_DBT = {"credit_flags": "customer_payment_behaviour"}

# Descriptions name the configured values as `{c.<section>.<key>}`, filled in from the
# configuration in force (COLUMNS below).
_DESCRIBED: dict[str, dict[str, str]] = {
    "customer_tiers": {
        "customer_id": "Customer business key from the ERP (string, leading zeros kept).",
        "as_of_date": "Business date the tiers are computed for.",
        "customer_type": "distributor / retailer / agent / key_account / end_customer.",
        "region": "Sales region of the customer.",
        "customer_status": "active / prospect / closed, from the master in force.",
        "abc_class": "F4 ABC class by 12m net sales: A up to {c.abc.a_max_cumulative_share:.0%} "
        "cumulative share, B up to {c.abc.b_max_cumulative_share:.0%}, else C; the customer "
        "crossing a boundary takes the higher class.",
        "abc_rank": "Rank by 12m net sales (1 = largest; ties broken by customer_id).",
        "abc_cumulative_share": "Cumulative share of 12m net sales up to this customer.",
        "size_tier": "F5 size tier: vip / large / medium / small by 12m net sales quantiles "
        "(or CNY thresholds); non_transacting without positive 12m sales.",
        "revenue_grade": "F6 grade A-D by cumulative share of 12m net sales (D = tail or none).",
        "profit_grade": "F6 grade A-D by cumulative share of 12m gross margin (D = tail or "
        "loss-making).",
        "recency_days": "F7 recency: days since the last purchase (null = never bought).",
        "frequency_12m": "F7 frequency: distinct order days in 12m.",
        "monetary_12m": "F7 monetary: 12m net sales, CNY.",
        "rfm_r": "Recency score 1-5 by quintile (5 = most recent).",
        "rfm_f": "Frequency score 1-5 by quintile.",
        "rfm_m": "Monetary score 1-5 by quintile.",
        "rfm_code": "The three scores concatenated, e.g. 545.",
        "rfm_segment": "Named segment from the R x F grid of the configuration; New = first "
        "purchase within rfm.new_customer_max_days (whatever the cell); Lost = no purchase in "
        "12m.",
        "p_alive": "F8 BG/NBD probability that the customer is still active.",
        "expected_purchases_365d": "F8 BG/NBD expected purchase days in the next 365 days.",
        "expected_spend": "F8 Gamma-Gamma expected spend per purchase day, CNY (population "
        "mean without repeat purchases).",
        "clv_12m": "F8 12-month CLV, CNY: monthly expected purchases x expected spend, "
        "discounted {c.clv.monthly_discount_rate:.0%} a month, times the 12m margin rate (1 "
        "where cost is unknown).",
        "clv_null_reason": "Why CLV is null for this customer (null when it is computed).",
        "cost_to_serve_12m": "F9 cost to serve, CNY: returns handling, overdue carrying cost "
        "and bad-debt provision.",
        "net_value_12m": "F9 12m gross margin minus cost to serve, CNY.",
        "value_class": "F9 MVC (most valuable) / MGC (most growth: active, p_alive at or above "
        "value_classes.mgc_min_p_alive, not a churn risk, enough prior volume) / BZC (below "
        "zero) / normal; closed customers are never MVC or MGC.",
        "development_class": "F12 mass_distribution / deep_distribution / brand from the price "
        "tier with most 12m sales.",
        "need_category": "F11 product category with the largest 12m net sales.",
        "frequency_band": "F11 high / medium / low by orders per month over 12m.",
        "cooperation_band": "F11 long_term (at least 3 years) / short_term.",
        "satisfaction_band": "F11 high / mid / low from complaint satisfaction scores; mid "
        "with complaints but no score; unknown without complaints in 12m or without the "
        "complaints extract (no complaint is not a sign of satisfaction).",
        "median_order_interval_days": "Median days between consecutive order dates.",
        "is_churn_risk": "F19 true when days since the last order exceed "
        "{c.churn.interval_multiple:g} x the median gap ({c.churn.fallback_days} days with "
        "fewer than two order days); null for never-buyers.",
        "churn_risk_reason": "Why the customer is at risk of churning.",
        "credit_class": "F23 credit class A-D of the same date (reporting.credit_flags).",
        "recommended_treatment": "First that applies: collect_and_exit (closed, still owes) / "
        "exit (closed) / exit_review (BZC) / win_first_order (never bought) / reactivate "
        "(nothing in 12m) / protect_and_secure (profit grade A or B with credit class C or D "
        "or AR over 60 days past due: protect the relationship, secure the receivable) / "
        "win_back (churn risk, grade A or B) / reactivate (other churn risks) / by profit "
        "grade: key_service (A), develop_to_a (B), maintain (C), exit_review (D).",
        "config_version": "Version of config/crm.yaml that produced the row.",
    },
    "credit_flags": {
        "customer_id": "Customer business key from the ERP.",
        "as_of_date": "Business date of the ledger (documents dated after it do not exist).",
        "ar_balance": "What the customer owes, CNY = invoices + reversals - receipts - credit "
        "notes = sum of the buckets - unapplied credit.",
        "unapplied_credit": "Money received and credit notes not applied to any invoice, CNY.",
        "overdue_amount": "Open amount past its (possibly extended) due date, CNY.",
        "ar_current": "Open amount not yet due, CNY.",
        "ar_1_30": "Open amount 1-30 days past due, CNY.",
        "ar_31_60": "Open amount 31-60 days past due, CNY.",
        "ar_61_90": "Open amount 61-90 days past due, CNY.",
        "ar_91_180": "Open amount 91-180 days past due, CNY.",
        "ar_over_180": "Open amount more than 180 days past due, CNY.",
        "dso": "Days sales outstanding = ar_balance / (net sales of the last 90 days / 90).",
        "max_days_past_due": "Days past due of the oldest open item.",
        # F22 payment behaviour columns: described by the customer_payment_behaviour model
        "abc_class": "The customer's sales ABC class on the same date (context; the limit "
        "follows the credit class).",
        "customer_status": "active / prospect / closed, from the master in force (closed: no "
        "credit).",
        "behaviour_score": "F23 sum of the scorecard points (0-100) from payment record, AR "
        "quality, relationship, size and value and security; see reporting.credit_scorecard.",
        "review_date": "Date of the latest credit review in force (credit_reviews extract, at "
        "most credit.rating.review_valid_days old); null without one.",
        "review_score": "Mean of that review's operating, financial and payment scores (0-100).",
        "credit_score": "F23 credit score 0-100: (1 - review weight) x behaviour_score + review "
        "weight x review_score with a review in force, else behaviour_score.",
        "credit_class": "F23 credit class from the score: A >= credit.rating.a_min, B >= b_min, "
        "C >= c_min, else D (cash on delivery only).",
        "rating_basis": "behaviour_and_review (a credit review is in force) or behaviour_only.",
        "is_new_customer": "Onboarded or first ordering less than "
        "{c.credit.new_customer_max_months} months ago, or fewer than "
        "{c.credit.new_customer_min_orders} orders: the limit starts small.",
        "payment_terms_days": "Payment terms in force, days (0 = cash: no credit).",
        "average_daily_sales": "12m net sales over the days since the first order (at least "
        "credit.min_sales_days, at most 365), CNY a day.",
        "expected_exposure": "payment_terms_days x average_daily_sales: what the customer owes "
        "in the ordinary course, CNY.",
        "deposit_amount": "Deposit held (customer master), CNY: reduces the exposure.",
        "collateral_amount": "Collateral from the credit review in force, CNY: reduces the "
        "exposure.",
        "has_guarantor": "The credit review in force records a guarantor (null without one).",
        "exposure": "ar_balance - deposit_amount - collateral_amount, CNY: what utilisation and "
        "OVER_LIMIT read.",
        "credit_limit_target": "The limit the credit class calls for, CNY: A expected exposure x "
        "a_limit_multiplier (at least a_min_limit_cny); B expected exposure x "
        "b_limit_multiplier x 0.8-1.2 by score (at least b_min_limit_cny); C expected exposure "
        "x c_limit_multiplier within c_min/c_max_limit_cny; D, closed and 0-day terms 0; new "
        "customers at most new_customer_limit_cny; null = unlimited (only with a_unlimited).",
        "previous_credit_limit": "The limit of the customer's previous as-of date computed.",
        "credit_limit": "F23 credit limit in force, CNY (0 = no credit, cash on delivery; null "
        "= unlimited, only where configured): the target, reached from the previous limit by "
        "at most limit_loosen_share up / limit_tighten_share down per limit_step_days.",
        "limit_basis": "How the limit was reached, in words.",
        "utilisation": "exposure / credit_limit (null without a positive limit).",
        "reason_codes": "F24 flags, each calling for an action: NEW_CUSTOMER_CAP (informs: "
        "none); OVER_LIMIT (exposure over a positive limit), DETERIORATING (days late of the "
        "last 91 days, open past-due invoices included, well above the customer's own "
        "baseline on enough invoices) and REPEATED_EXTENSIONS: require_guarantee_or_deposit; "
        "OVERDUE_60: reduce_supply; CREDIT_CLASS_D and BOUNCED_PAYMENT_90D: "
        "cash_on_delivery; BAD_DEBT_RISK_180 and CLOSED_WITH_BALANCE: hold_shipments. "
        "DETERIORATING and REPEATED_EXTENSIONS need a balance owed.",
        "reason_details": "One text per reason code with the figures that raised it.",
        "is_flagged": "True when the reason codes call for an action (recommended_action is "
        "not none); NEW_CUSTOMER_CAP alone informs without flagging.",
        "recommended_action": "none / require_guarantee_or_deposit / reduce_supply / "
        "cash_on_delivery / hold_shipments: the strongest the flags call for.",
        "flagged_since": "First as-of date of the customer's current unbroken run of flagged "
        "as-of dates computed (null when not flagged): when it started deteriorating.",
        "action_since": "First as-of date of the current unbroken run of this recommended_action.",
        "config_version": "Version of config/crm.yaml that produced the row.",
    },
    "credit_scorecard": {
        "customer_id": "Customer business key.",
        "as_of_date": "Business date of the rating.",
        "component_group": "payment_record / ar_quality / relationship / size_and_value / "
        "security, or credit_review for the review's score.",
        "component": "The figure scored (config/crm.yaml credit.rating.components): "
        "late_invoice_share_12m, avg_days_late_12m (open past-due invoices counted with their "
        "days overdue so far), bounced_payments_12m, extension_requests_12m, overdue_share and "
        "beyond_90_share (of the open receivable), cooperation_years, active_months_12m, "
        "net_sales_12m, margin_rate_12m, security_cover ((deposit + collateral) / expected "
        "exposure), has_guarantor (1 = yes); review_score.",
        "figure": "The customer's value of that figure (null: could not be computed, scored "
        "as `missing`).",
        "points": "Points the component gave (null for review_score, which is blended by weight).",
        "max_points": "The most the component can give (all components add up to 100).",
        "config_version": "Version of config/crm.yaml that produced the row.",
    },
    "credit_flag_changes": {
        "customer_id": "Customer business key.",
        "reason_code": "The F24 reason code raised or cleared.",
        "change": "raised (applies now, not on the previous date) / cleared (the reverse).",
        "recommended_action_before": "Action on the previous as-of date computed.",
        "recommended_action_after": "Action on this as-of date.",
        "as_of_date": "Business date of the change.",
        "previous_as_of_date": "The as-of date compared with.",
    },
    "credit_company_view": {
        "as_of_date": "Business date of the view.",
        "total_ar_balance": "Sum of every customer's ar_balance, CNY (unapplied credit nets).",
        "total_receivable": "Sum of the positive balances, CNY (what customers owe).",
        "total_unapplied_credit": "Sum of unapplied credit, CNY.",
        "total_overdue_amount": "Sum of overdue amounts, CNY.",
        "total_ar_over_180": "Sum of AR more than 180 days past due, CNY.",
        "company_assets_cny": "The company's total assets (configuration), CNY.",
        "ar_warning_share": "Share of assets that receivables should stay under (configuration).",
        "warning_line_cny": "F25 receivables warning line = ar_warning_share x company_assets_cny.",
        "ar_to_warning_line": "total_ar_balance / warning_line_cny (above 1 = over the line).",
        "is_above_warning_line": "True when total_ar_balance exceeds the warning line.",
        "concentration_top_n": "N of the concentration measure (configuration).",
        "top_n_ar_share": "Share of total_receivable owed by the N largest debtors.",
        "top_customer_ar_share": "Share of total_receivable owed by the largest debtor.",
        "customers_with_ar": "Customers with a positive balance.",
        "flagged_customers": "Customers whose flags call for an action (is_flagged).",
        "flagged_exposure": "Positive balances of customers whose flags call for an action, CNY.",
        "customers_require_guarantee_or_deposit": "Customers whose action is "
        "require_guarantee_or_deposit.",
        "customers_reduce_supply": "Customers whose action is reduce_supply.",
        "customers_cash_on_delivery": "Customers whose action is cash_on_delivery.",
        "customers_hold_shipments": "Customers whose action is hold_shipments.",
        "config_version": "Version of config/crm.yaml that produced the row.",
    },
    "credit_watch_list": {
        "as_of_date": "Business date of the list.",
        "exposure_rank": "1 = the largest balance among customers whose flags call for action.",
        "customer_id": "Customer business key.",
        "ar_balance": "What the customer owes, CNY.",
        "overdue_amount": "Open amount past due, CNY.",
        "ar_over_180": "Open amount more than 180 days past due, CNY.",
        "exposure": "ar_balance less deposit and collateral, CNY.",
        "credit_class": "F23 credit class A-D.",
        "credit_score": "F23 credit score 0-100.",
        "credit_limit": "F23 limit in force, CNY (0 = no credit; null = unlimited).",
        "utilisation": "exposure / credit_limit.",
        "reason_codes": "F24 reason codes.",
        "reason_details": "The figures behind each reason code.",
        "recommended_action": "The action the flags call for (never none here).",
        "flagged_since": "Since when the customer has been flagged without a break.",
        "abc_class": "F4 ABC class.",
        "size_tier": "F5 size tier.",
        "value_class": "F9 value class (MVC / MGC / BZC / normal).",
        "clv_12m": "F8 12-month CLV, CNY: what is at stake beside the risk.",
    },
    "customer_composition": {
        "as_of_date": "Business date of the composition.",
        "dimension": "customer_type / region / customer_type_abc.",
        "segment": "The segment, e.g. distributor, east or distributor/A.",
        "customers": "Customers in the segment (master in force and any with activity).",
        "transacting_customers": "Customers with positive 12m net sales.",
        "net_sales_12m": "12m net sales of the segment, CNY.",
        "gross_margin_12m": "12m gross margin of the segment, CNY.",
        "share_of_company_12m": "Segment's share of the company's 12m net sales.",
        "share_within_type_12m": "For type x ABC: share of the type's 12m net sales.",
    },
    "supply_cover": {
        "customer_id": "Key account's business key (size tier vip or large, or ABC class A).",
        "product_id": "Product business key.",
        "as_of_date": "Business date the cover is computed for.",
        "size_tier": "The customer's F5 size tier on the as-of date.",
        "abc_class": "The customer's F4 ABC class on the as-of date.",
        "stock_snapshot_date": "Date of the latest channel inventory snapshot of this customer "
        "and product on or before the as-of date (null = none).",
        "stock_quantity": "Channel stock held by the customer on that snapshot date (0 when "
        "the product is absent from a recent snapshot and the ERP omits zero-stock lines).",
        "stock_counted_as_zero": "True when the product is absent from the customer's recent "
        "latest snapshot, was not bought after it, and counts as zero stock "
        "(supply_cover.erp_omits_zero_stock_lines).",
        "sell_in_quantity": "Sales quantity to the customer, net of returns, over the last "
        "sell_in_days days up to the as-of date.",
        "sell_in_value": "Net sales to the customer of the product (returns netted) over the "
        "same days, CNY.",
        "last_purchase_date": "The last order date in the window with a positive quantity "
        "(null = none).",
        "sell_in_days": "Length of the sell-in window, days (configuration).",
        "avg_daily_sell_in": "sell_in_quantity / sell_in_days.",
        "days_of_cover": "stock_quantity / avg_daily_sell_in; null when there is no recent "
        "stock snapshot, the product is not on it while the ERP lists zero-stock lines or was "
        "bought after it, or there is no sell-in (see cover_note).",
        "peak_season": "The peak season (spring_festival, mid_autumn) whose date is within the "
        "configured lead days after the as-of date; null outside those weeks.",
        "threshold_days": "Minimum days of cover in force on the as-of date (the stricter peak "
        "threshold during a peak_season).",
        "has_min_sell_in": "True when sell_in_value reaches supply_cover.min_sell_in_value_cny: "
        "only such products raise a flag.",
        "is_below_threshold": "True when days_of_cover < threshold_days and has_min_sell_in: "
        "supply at risk.",
        "cover_note": "Why days_of_cover is null, that the stock was counted as zero, or why a "
        "product short of the threshold is not flagged (its sell-in is below the minimum); "
        "null when none applies.",
        "config_version": "Version of config/crm.yaml that produced the row.",
    },
    "key_account_supply_risk": {
        "customer_id": "Key account's business key (size tier vip or large, or ABC class A) "
        "with at least one product in scope of supply_cover.",
        "as_of_date": "Business date the cover is computed for.",
        "size_tier": "The customer's F5 size tier on the as-of date.",
        "abc_class": "The customer's F4 ABC class on the as-of date.",
        "stock_snapshot_date": "The customer's latest channel inventory snapshot on or before "
        "the as-of date (null = none).",
        "products_in_scope": "Products of the account in supply_cover: bought in the sell-in "
        "window or held on a recent snapshot.",
        "products_with_min_sell_in": "Of those, products whose sell-in value reaches the "
        "minimum for a flag.",
        "products_at_risk": "Products flagged (is_below_threshold): cover below the threshold "
        "and the minimum sell-in.",
        "stock_outs": "Of the products at risk, those with zero stock.",
        "stock_outs_not_on_snapshot": "Of the stock-outs, those absent from the latest "
        "snapshot and counted as zero stock.",
        "products_cover_unknown": "Products bought in the window whose days of cover are "
        "unknown (no recent snapshot, or absent from it while zero lines are listed or "
        "bought after it).",
        "min_days_of_cover": "Smallest days of cover among the products with the minimum "
        "sell-in (null = none known).",
        "sell_in_value": "Net sales of the products in scope over the sell-in window, CNY.",
        "sell_in_value_at_risk": "Net sales of the products at risk over the sell-in window, "
        "CNY: what the account buys of what is running out.",
        "threshold_days": "Minimum days of cover in force on the as-of date.",
        "peak_season": "The peak season in force on the as-of date (null = none).",
        "risk_rank": "1 = the account with the largest sell_in_value_at_risk (then more "
        "products at risk, fewer days of cover); null when no product is at risk.",
        "config_version": "Version of config/crm.yaml that produced the row.",
    },
    "prospect_grades": {
        "prospect_id": "Lead key from the prospects extract (the name is never published).",
        "as_of_date": "Business date of the grading.",
        "customer_type": "Expected customer type of the lead.",
        "region": "Sales region of the lead.",
        "stage": "new / contacted / qualified / negotiating / trial_order / lost.",
        "lead_source": "Where the lead came from.",
        "referred_by_customer_id": "Existing customer who referred the lead, if any.",
        "stage_points": "Points for the stage (config prospects.stage_points).",
        "contact_points": "Points for a contact within 30 / 90 days.",
        "visit_points": "Points per visit, capped.",
        "volume_points": "Points for the expected monthly volume.",
        "referral_points": "Points for a referral by a VIP, large or A customer.",
        "prospect_score": "Sum of the points.",
        "prospect_grade": "A / B / C / D by score; lost prospects are D.",
        "name_key": "Keyed hash (HMAC-SHA256 under CRM_PII_KEY) of the normalised prospect "
        "name, never the name; null when no key is set.",
        "existing_customer_id": "The customer in the master in force whose name has the same "
        "key: the lead is already a customer (null when none, or no key is set).",
    },
    "tier_migrations": {
        "customer_id": "Customer business key from the ERP.",
        "dimension": "The classification that changed (abc_class, size_tier, ...).",
        "from_class": "Class on the previous as-of date (null = not classified then).",
        "to_class": "Class on this as-of date (null = no longer classified).",
        "direction": "upgrade / downgrade / changed / new / lost.",
        "reason": "12m net sales, net value and CLV before and after.",
        "as_of_date": "The as-of date of the change.",
        "previous_as_of_date": "The as-of date compared with.",
    },
    "data_quality_results": {
        "run_id": "Dagster run that ran the check.",
        "checked_at": "When the check ran.",
        "as_of_date": "Business date of the data checked.",
        "table_name": "Table or model checked.",
        "partition_key": "Dagster partition (the as-of date).",
        "check_source": "great_expectations / dbt_test / reconciliation.",
        "check_name": "Expectation, dbt test or reconciliation figure.",
        "column_name": "Column checked, where there is one.",
        "parameters": "The check's parameters (JSON).",
        "severity": "critical (blocks publication) or warning.",
        "passed": "Whether the check passed.",
        "element_count": "Rows checked.",
        "unexpected_count": "Rows that failed the check (counts only, never values).",
        "observed_value": "Reconciliation figures: published and from the extracts.",
    },
    "rejected_rows": {
        "extract": "Extract the row came from.",
        "file_name": "<extract>/<file> the row was delivered in.",
        "line_number": "Line of the file (1 = header).",
        "column_name": "Column at fault (* = the whole line).",
        "reason": "The rule the row broke.",
        "business_date": "Business date of the file.",
        "file_sha256": "Hash of the file version.",
        "run_id": "Run that loaded the file.",
    },
    "delivery_manifest": {
        "extract": "Extract of the file.",
        "file_name": "<extract>/<file>.",
        "business_date": "Business date in the file name.",
        "file_sha256": "SHA-256 of the file's content.",
        "file_size": "Size in bytes.",
        "file_mtime_ns": "Modification time seen (ns since the epoch).",
        "rows_in_file": "Data rows in the file.",
        "accepted_rows": "Rows loaded.",
        "rejected_rows": "Rows quarantined (rows_in_file = accepted_rows + rejected_rows).",
        "run_id": "Run that loaded this version.",
        "loaded_at": "When it was loaded.",
        "is_current": "True for the version in force; earlier versions were corrected.",
    },
    "publication": {
        "run_id": "Run that last published as_of_date.",
        "as_of_date": "The newest as-of date published: what reporting.current_<table> "
        "shows; a backfill of an older date does not move it back.",
        "published_at": "When that run published it.",
        "config_version": "Version of config/crm.yaml in force in that run.",
        "history_file": "Name of this state's copy (written by the last run) in the history/ "
        "folder next to the warehouse (null when no history is kept).",
        "last_run_id": "The last run to publish, the one that wrote this file: run_id unless "
        "it published an older as-of date (a backfill).",
        "last_run_as_of_date": "As-of date the last run published.",
        "last_published_at": "When the last run published.",
    },
    "publication_history": {
        "run_id": "Run that published.",
        "as_of_date": "As-of date published.",
        "published_at": "When it was published.",
        "config_version": "Version of config/crm.yaml in force.",
        "history_file": "File in history/ holding that state, while it is among the newest "
        "publishing.keep_history ones.",
    },
}


def rendered(config: CrmConfig) -> dict[str, dict[str, str]]:
    """The column descriptions with the values of `config` filled in."""
    return {
        table: {column: text.format(c=config) for column, text in columns.items()}
        for table, columns in _DESCRIBED.items()
    }


def _config_in_force() -> CrmConfig:
    """The configuration CRM_CONFIG_PATH names; the repository's own when that one cannot be
    read (the run that reads it reports why)."""
    try:
        return load_config(environment_path("CRM_CONFIG_PATH"))
    except ValueError:
        return load_config(PROJECT_ROOT / "config" / "crm.yaml")


# table -> column -> description of the tables built in Python, as BI tools read them
COLUMNS = rendered(_config_in_force())


def with_key(text: str, key: tuple[str, ...] | None) -> str:
    """A table's description followed by its key: the columns that pick out one row."""
    return f"{text} Key: {', '.join(key)}." if key else text


def current_view_description(table: str) -> str:
    """The description of the view reporting.current_<table>."""
    return (
        f"The rows of reporting.{table} for the newest as-of date published "
        f"(reporting.publication.as_of_date); a view, always in step with the table. "
        f"{TABLES[table]}"
    )


def published_descriptions(table: str, dbt_manifest: Path | None) -> dict[str, str]:
    """Column -> description of a published table, as its DuckDB comments and the Dagster UI
    say: this catalogue's, else the dbt model's (from its YAML); a Python table keeps the
    descriptions of the dbt model whose columns it carries (COLUMNS_FROM_DBT)."""
    columns = dict(COLUMNS.get(table, {}))
    if dbt_manifest is not None and (not columns or table in COLUMNS_FROM_DBT):
        source = COLUMNS_FROM_DBT.get(table, table)
        columns = model_columns(dbt_manifest, source) | columns
    return columns
