"""What the tool does to keys, callable from Python: the command line and the local stack share it.

Each operation keeps the keys table and API Gateway in step, ordering its writes so that a
failure part-way leaves the key *no more usable* than before, and never half-made:

* create writes the table item last (the authorizer knows a key only by its item), and removes
  the API Gateway key it made if a later step fails;
* disable writes the table first, enable writes it last (the authorizer is the main gate,
  the API Gateway key's ``enabled`` flag a second one);
* delete removes the API Gateway key first, so that a rerun after a failure still finds the
  item, and with it the API key's id.

Nothing here prints or logs a plain key; :func:`create_key` returns it to its caller once.
"""

from __future__ import annotations

import logging
import math
import string
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from vegart.keys import (
    ACTIVE,
    DEFAULT_BURST,
    DEFAULT_RATE,
    DISABLED,
    MIN_KEY_LENGTH,
    MODELS,
    KeyExists,
    KeyNotFound,
    KeyRecord,
    KeyStore,
    key_id,
    make_record,
)
from vegart.webhooks.signatures import WebhookSecrets

from . import api_keys
from .errors import USAGE, AdminError
from .targets import Targets

log = logging.getLogger("vegart_admin")

#: The shortest id prefix accepted: 8 hex digits make a chance clash among keys unlikely.
MIN_PREFIX = 8
ID_LENGTH = 64
_HEX = frozenset(string.hexdigits.lower())

TABLE_ONLY_WARNING = (
    "no API Gateway API is known (pass --stack or --api-id): the key's rate and burst are "
    "stored but not enforced, and a deployed API that requires API keys will refuse it"
)


def create_key(
    targets: Targets,
    *,
    label: str,
    credits: int,
    plain_key: str | None = None,
    rate: float | None = None,
    burst: int | None = None,
    models: Iterable[str] = MODELS,
) -> tuple[str, KeyRecord]:
    """Make a client key; ``(plain_key, record)``. The plain key exists nowhere else after this.

    With neither ``rate`` nor ``burst``, the key joins the deployment's default usage plan and
    its record holds that plan's throttle. With either, it joins the shared plan for that pair
    (the missing one taken from the default plan), made on first use. ``plain_key`` lets the
    local stack create its demo key with a value of its choosing; :class:`KeyExists` if that
    key is already stored.
    """
    label = label.strip()
    if not label:
        raise AdminError("a key needs a label", exit_code=USAGE)
    if rate is not None and not math.isfinite(rate):
        raise AdminError("rate must be a finite number of requests per second", exit_code=USAGE)
    models = tuple(models)
    store = targets.store()
    if not targets.enforced:
        log.warning(TABLE_ONLY_WARNING)
        plain, record = make_record(
            label,
            credits,
            plain_key=plain_key,
            models=models,
            rate=DEFAULT_RATE if rate is None else rate,
            burst=DEFAULT_BURST if burst is None else burst,
        )
        return plain, store.add(record)

    apigw = targets.client("apigateway")
    default = (
        api_keys.plan_throttle(apigw, targets.default_plan_id) if targets.default_plan_id else None
    )
    base_rate, base_burst = default or (DEFAULT_RATE, DEFAULT_BURST)
    want_rate = base_rate if rate is None else rate
    want_burst = base_burst if burst is None else burst
    # Validate everything before the first write.
    plain, record = make_record(
        label, credits, plain_key=plain_key, models=models, rate=want_rate, burst=want_burst
    )
    if store.get(record.key_id, consistent=True) is not None:
        raise KeyExists(record.key_id)
    plan_id = _plan_for(
        targets,
        apigw,
        custom=rate is not None or burst is not None,
        default=default,
        rate=want_rate,
        burst=want_burst,
    )

    api_key_id = api_keys.create_api_key(
        apigw, name=api_keys.key_name(label, record.key_id), key_hash=record.key_id, plan_id=plan_id
    )
    try:
        stored = store.add(replace(record, api_key_id=api_key_id))
    except BaseException:
        api_keys.discard_api_key(apigw, api_key_id, plan_id=plan_id)
        raise
    return plain, stored


def _plan_for(
    targets: Targets,
    apigw: Any,
    *,
    custom: bool,
    default: api_keys.Throttle | None,
    rate: float,
    burst: int,
) -> str:
    """The usage plan a new key joins: the default one unless it asks for another throttle."""
    if targets.default_plan_id and (not custom or default == (float(rate), int(burst))):
        if default is None:
            log.warning(
                "the default usage plan %s sets no throttle; the recorded rate %s and burst %s "
                "are not enforced by it",
                targets.default_plan_id,
                rate,
                burst,
            )
        return targets.default_plan_id
    if not custom:
        raise AdminError(
            "no default usage plan is known (stack output DefaultUsagePlanId, or "
            "--default-plan); pass one, or --rate and --burst for a plan of their own",
            exit_code=USAGE,
        )
    assert targets.api_id is not None  # create_key's table-only branch returned already
    return api_keys.find_or_create_plan(
        apigw,
        prefix=targets.prefix,
        api_id=targets.api_id,
        stage=targets.stage,
        rate=rate,
        burst=burst,
    )


def list_keys(targets: Targets) -> list[KeyRecord]:
    """Every key, oldest first (a scan: the table holds one item per client)."""
    return sorted(targets.store(), key=lambda record: (record.created_at, record.key_id))


def find_key(targets: Targets, ref: str) -> KeyRecord:
    """The key that ``ref`` names: its full id, a prefix of at least 8 hex digits that matches
    exactly one key, or the plain key itself (an operator revoking a leaked key holds that).

    A plain key is looked up by its hash and never echoed in an error; ``ref`` is echoed only
    once it is known to be hex, which no key made by ``create`` is.
    """
    ref = ref.strip()
    if not ref:
        raise AdminError("name a key: its id, a prefix of it, or the key itself", exit_code=USAGE)
    store = targets.store()
    hex_ref = ref.lower()
    if set(hex_ref) <= _HEX and len(hex_ref) <= ID_LENGTH:
        if len(hex_ref) < MIN_PREFIX:
            raise AdminError(
                f"a key id prefix needs at least {MIN_PREFIX} hex digits", exit_code=USAGE
            )
        # Hex that names no id may still be a key chosen by its owner (the demo key's kind).
        found = _by_id(store, hex_ref) or _by_plain_key(store, ref)
        if found is None:
            raise KeyNotFound(hex_ref)
        return found
    if len(ref) < MIN_KEY_LENGTH:
        raise AdminError(
            "that is neither a key id (hex digits, at least 8) nor a key "
            f"(at least {MIN_KEY_LENGTH} characters)",
            exit_code=USAGE,
        )
    found = _by_plain_key(store, ref)
    if found is None:
        raise AdminError("no key matches that key or id")
    return found


def _by_plain_key(store: KeyStore, ref: str) -> KeyRecord | None:
    if len(ref) < MIN_KEY_LENGTH:
        return None
    return store.get(key_id(ref), consistent=True)


def _by_id(store: KeyStore, ref: str) -> KeyRecord | None:
    """The key whose id is ``ref`` or starts with it; an error if several do."""
    if len(ref) == ID_LENGTH:
        return store.get(ref, consistent=True)
    matches = [record for record in store if record.key_id.startswith(ref)]
    if len(matches) > 1:
        ids = ", ".join(sorted(record.key_id[:16] for record in matches))
        raise AdminError(f"{len(matches)} keys start with {ref}: {ids}; give more digits")
    return matches[0] if matches else None


def set_enabled(targets: Targets, ref: str, *, enabled: bool) -> KeyRecord:
    """Enable or disable a key in the table and on its API Gateway key.

    The API Gateway key is flipped even in table-only mode when the record names one: API keys
    belong to the account and region, not to an API, so its id is enough.
    """
    record = find_key(targets, ref)
    store = targets.store()
    if not enabled:
        record = store.update(record.key_id, status=DISABLED)
    if record.api_key_id:
        api_keys.set_enabled(targets.client("apigateway"), record.api_key_id, enabled=enabled)
    if enabled:
        record = store.update(record.key_id, status=ACTIVE)
    return record


def top_up(targets: Targets, ref: str, credits: int) -> KeyRecord:
    """Add credits atomically (a render may be debiting the same balance right now)."""
    if credits <= 0:
        raise AdminError("a top-up must add at least one credit", exit_code=USAGE)
    record = find_key(targets, ref)
    return targets.store().add_credits(record.key_id, credits)


def rotate_webhook_secret(targets: Targets, ref: str, *, grace_hours: float) -> float:
    """Give a key a new webhook signing secret; the old one signs too for ``grace_hours``.

    The secret itself is not returned: its owner reads it with ``GET
    /v2/webhooks/default/secret``, and an operator's terminal never holds it. When the grace
    ends (Unix seconds) is.
    """
    if not 0 <= grace_hours <= 24 * 30:
        raise AdminError("the grace must be from 0 to 720 hours", exit_code=USAGE)
    record = find_key(targets, ref)
    secrets = WebhookSecrets(targets.table, lambda: targets.client("dynamodb"))
    return secrets.rotate(record.key_id, grace_seconds=grace_hours * 3600).previous_until


def delete_key(targets: Targets, ref: str) -> KeyRecord:
    """Remove a key's API Gateway key, then its item; the record as it was.

    A usage plan this tool made for the key's rate (see :func:`create_key`) goes too once no
    key is left in it: an account holds only a few hundred plans. (A ``keys create`` for the
    same rate at the very moment of the delete may then make the plan again.)
    """
    record = find_key(targets, ref)
    if record.api_key_id:
        apigw = targets.client("apigateway")
        plans = api_keys.leave_plans(apigw, record.api_key_id)
        api_keys.delete_api_key(apigw, record.api_key_id)
        for plan in plans:
            if plan.get("id") != targets.default_plan_id:
                api_keys.remove_plan_if_unused(apigw, plan, prefix=targets.prefix)
    return targets.store().delete(record.key_id)
