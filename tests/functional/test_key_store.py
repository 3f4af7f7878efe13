"""Client keys: made once, stored hashed, changed atomically in the keys table (moto)."""

from __future__ import annotations

import pytest

from vegart.keys import (
    DISABLED,
    KeyExists,
    KeyNotFound,
    KeyStore,
    key_id,
    make_record,
)


def test_store_lookup_by_plain_key(keys: KeyStore) -> None:
    plain, record = make_record("web", 3)
    keys.add(record)
    assert keys.lookup(plain) == record
    assert keys.lookup(plain + "x") is None


def test_a_key_is_never_overwritten(keys: KeyStore) -> None:
    _, record = make_record("web", 3, plain_key="vg_chosen-demo-key-000000000")
    keys.add(record)
    with pytest.raises(KeyExists):
        keys.add(record)


def test_update_top_up_and_delete(keys: KeyStore) -> None:
    _, record = make_record("web", 3)
    keys.add(record)
    assert keys.update(record.key_id, status=DISABLED).status == DISABLED
    assert keys.add_credits(record.key_id, 7).credits == 10
    assert [r.key_id for r in keys if r.key_id == record.key_id] == [record.key_id]
    assert keys.delete(record.key_id).credits == 10
    assert keys.get(record.key_id) is None


def test_changes_to_a_missing_key_say_so(keys: KeyStore) -> None:
    missing = key_id("vg_nobody-has-this-one-0000000")
    for change in (
        lambda: keys.update(missing, status=DISABLED),
        lambda: keys.add_credits(missing, 1),
        lambda: keys.delete(missing),
        lambda: keys.require(missing),
    ):
        with pytest.raises(KeyNotFound):
            change()
    assert keys.get(missing) is None


def test_a_top_up_must_add_something(keys: KeyStore) -> None:
    _, record = make_record("web", 3)
    keys.add(record)
    with pytest.raises(ValueError, match="at least one"):
        keys.add_credits(record.key_id, 0)
