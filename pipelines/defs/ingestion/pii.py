"""Pseudonymous join keys for PII (docs/analyses.md#extract-contract, [002] §2.3).

Names and phone numbers never leave the raw layer in clear. Where a join needs them (a
lead that is already a customer, one customer under two codes), a keyed hash stands in:
HMAC-SHA256 of the normalised value under a secret taken from the environment variable
CRM_PII_KEY (read by `pipelines.settings.pii_key`), never from the repository. Without the
variable the keys stay empty: equal keys then cannot be told from guesses, so none are made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import polars as pl

# PII_KEY_ENV stays importable from here: the run log names the variable when it is unset
from pipelines.settings import PII_KEY_ENV as PII_KEY_ENV
from pipelines.settings import pii_key

# extract -> PII column -> its keyed-hash column (kept in raw and passed on by staging)
KEYED_PII: dict[str, dict[str, str]] = {
    "customers": {"customer_name": "customer_name_key", "phone": "phone_key"},
    "prospects": {"name": "name_key"},
}


def pii_key_from_env() -> bytes | None:
    """The secret of the keyed hashes (settings.pii_key), or None without CRM_PII_KEY."""
    return pii_key()


def normalise(value: str, column: str) -> str:
    """The form two spellings of one name or phone number share."""
    if column == "phone":
        digits = re.sub(r"\D", "", value)
        return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    text = unicodedata.normalize("NFKC", value).casefold()
    return re.sub(r"\s+", "", text)


def keyed_hash(value: str | None, column: str, secret: bytes) -> str | None:
    if value is None or not value.strip():
        return None
    digest = hmac.new(secret, normalise(value, column).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()


def with_pii_keys(frame: pl.DataFrame, extract: str, secret: bytes | None) -> pl.DataFrame:
    """Add the keyed-hash columns of `extract` (null without a secret). Each distinct value
    is hashed once: a daily full snapshot repeats every customer's name day after day."""
    for source, target in KEYED_PII.get(extract, {}).items():
        if not secret:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(target))
            continue
        values = frame.select(pl.col(source).unique().drop_nulls())
        keys = values.with_columns(
            pl.Series(
                target,
                [keyed_hash(v, source, secret) for v in values[source].to_list()],
                dtype=pl.String,
            )
        )
        frame = frame.join(keys, on=source, how="left", maintain_order="left")
    return frame
