"""Key accounts: the customers whose business the manufacturer protects first (supply
assurance) and whose word counts (a referral of a prospect). One definition for both."""

from __future__ import annotations

import polars as pl

# Size tiers that make a key account, whatever its ABC class.
KEY_ACCOUNT_SIZE_TIERS = ("vip", "large")
KEY_ACCOUNT_ABC_CLASS = "A"


def is_key_account(size_tier: str = "size_tier", abc_class: str = "abc_class") -> pl.Expr:
    """A VIP or large customer, or an A customer, on the same as-of date."""
    return pl.col(size_tier).is_in(KEY_ACCOUNT_SIZE_TIERS) | (
        pl.col(abc_class) == KEY_ACCOUNT_ABC_CLASS
    )
