"""Keyed hashes that stand in for PII: stable, secret-dependent, blind to spelling noise."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

from pipelines.defs.ingestion.pii import keyed_hash, with_pii_keys


def test_the_key_is_an_hmac_of_the_normalised_value():
    expected = hmac.new(b"s3cret", "上海鑫盛食品商贸有限公司".encode(), hashlib.sha256).hexdigest()
    assert keyed_hash("上海鑫盛 食品商贸有限公司 ", "customer_name", b"s3cret") == expected
    # full-width letters and case fold to the same name
    assert keyed_hash("ＡＢＣ Foods", "customer_name", b"k") == keyed_hash(
        "abcfoods", "customer_name", b"k"
    )
    # phones: digits only, China's country code dropped
    assert keyed_hash("+86 138-0000-0000", "phone", b"k") == keyed_hash(
        "13800000000", "phone", b"k"
    )
    assert keyed_hash("13800000000", "phone", b"k") != keyed_hash("13800000000", "phone", b"j")
    assert keyed_hash("  ", "customer_name", b"k") is None
    assert keyed_hash(None, "phone", b"k") is None


def test_keys_are_added_per_extract_and_empty_without_a_secret():
    frame = pl.DataFrame({"customer_name": ["甲公司", None], "phone": ["13800000000", "1"]})
    keyed = with_pii_keys(frame, "customers", b"k")
    assert keyed.columns == ["customer_name", "phone", "customer_name_key", "phone_key"]
    assert keyed["customer_name_key"].to_list() == [
        keyed_hash("甲公司", "customer_name", b"k"),
        None,
    ]
    assert len(keyed["phone_key"][0]) == 64
    unkeyed = with_pii_keys(frame, "customers", None)
    assert unkeyed["customer_name_key"].null_count() == 2 and unkeyed["phone_key"].null_count() == 2
    assert with_pii_keys(frame, "sales", b"k").columns == frame.columns


def test_repeated_values_get_the_key_of_each_row_in_row_order():
    """Keys are computed once per distinct value and land on every row that holds it."""
    names = ["乙公司", "甲公司", None, "乙公司", " ", "丙公司", "甲公司"]
    phones = ["1", "13800000000", "2", "1", None, "13800000000", "3"]
    frame = pl.DataFrame({"customer_id": list("abcdefg"), "customer_name": names, "phone": phones})
    keyed = with_pii_keys(frame, "customers", b"k")
    assert keyed["customer_id"].to_list() == list("abcdefg")
    assert keyed["customer_name_key"].to_list() == [
        keyed_hash(v, "customer_name", b"k") for v in names
    ]
    assert keyed["phone_key"].to_list() == [keyed_hash(v, "phone", b"k") for v in phones]
