"""Client keys: made once, stored hashed, changed atomically in the keys table (moto)."""

from __future__ import annotations

from typing import Any

import pytest

from vegart.keys import (
    ACTIVE,
    DISABLED,
    KEY_PREFIX,
    KeyExists,
    KeyNotFound,
    KeyRecord,
    KeyStore,
    key_id,
    make_record,
    new_key,
)


def test_new_keys_are_long_random_and_recognisable() -> None:
    made = {new_key() for _ in range(100)}
    assert len(made) == 100
    assert all(key.startswith(KEY_PREFIX) and len(key) >= 40 for key in made)


def test_a_record_holds_the_hash_and_a_hint_never_the_key() -> None:
    plain, record = make_record("mobile app", 10, rate=2, burst=4)
    assert record.key_id == key_id(plain)
    assert record.hint == plain[-4:]
    assert plain not in repr(record.to_item())
    assert plain not in repr(record.public())
    assert (record.status, record.credits, record.rate, record.burst) == (ACTIVE, 10, 2, 4)


def test_a_record_survives_the_table_unchanged() -> None:
    _, record = make_record("web", 3)
    record = KeyRecord(**{**record.__dict__, "last_used_at": "x", "api_key_id": "abc"})
    assert KeyRecord.from_item(record.to_item()) == record


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"credits": -1}, "negative"),
        ({"credits": 1, "rate": 0}, "rate"),
        ({"credits": 1, "burst": 0}, "burst"),
        ({"credits": 1, "models": ("dall-e",)}, "models"),
        ({"credits": 1, "models": ()}, "models"),
        ({"credits": 1, "plain_key": "short"}, "20 characters"),
    ],
)
def test_bad_key_options_are_refused(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        make_record("label", **options)


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
