"""Client keys: made once, stored as their SHA-256 with a hint, never as themselves."""

from __future__ import annotations

from typing import Any

import pytest

from devkit.events import CLIENT_KEY, CLIENT_KEY_ID
from vegart.keys import (
    ACTIVE,
    KEY_PREFIX,
    KeyRecord,
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


def test_the_key_id_is_the_sha256_of_the_key() -> None:
    assert key_id(CLIENT_KEY) == CLIENT_KEY_ID
    assert len(CLIENT_KEY_ID) == 64
