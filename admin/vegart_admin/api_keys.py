"""API Gateway's side of a client key: the API key that carries its throttle, and usage plans.

The authorizer answers with ``usageIdentifierKey = key_id`` (the key's SHA-256), so API Gateway
throttles a request through the usage plan holding an API key whose *value* is that hash. The
plain key never reaches API Gateway. One usage plan per distinct rate/burst pair is shared by
every key that asks for it, since an account may hold only a few hundred plans.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import error_code

from .errors import USAGE, AdminError

log = logging.getLogger("vegart_admin")

Throttle = tuple[float, int]


def _number(value: float) -> str:
    """A rate as a name part: ``5.0`` -> ``5``, ``2.5`` -> ``2.5`` (no exponent, no dot tail)."""
    return f"{value:f}".rstrip("0").rstrip(".")


def plan_name(prefix: str, rate: float, burst: int) -> str:
    """The name of the shared usage plan for one rate/burst pair; found again by this name."""
    return f"{prefix}-rate-{_number(rate)}-burst-{burst}"


def key_name(label: str, key_hash: str) -> str:
    """The API key's name: readable in the console, unique enough through the id's start."""
    tidy = "-".join(label.split()) or "key"
    return f"vegart-{tidy}-{key_hash[:12]}"


def throttle_of(plan: dict[str, Any]) -> Throttle | None:
    """A usage plan's throttle, or ``None`` when it sets none."""
    throttle = plan.get("throttle") or {}
    if "rateLimit" not in throttle or "burstLimit" not in throttle:
        return None
    return float(throttle["rateLimit"]), int(throttle["burstLimit"])


def plan_throttle(apigw: Any, plan_id: str) -> Throttle | None:
    """The throttle of usage plan ``plan_id``."""
    return throttle_of(apigw.get_usage_plan(usagePlanId=plan_id))


def _plans(apigw: Any) -> list[dict[str, Any]]:
    plans: list[dict[str, Any]] = []
    for page in apigw.get_paginator("get_usage_plans").paginate():
        plans.extend(page.get("items", []))
    return plans


def find_or_create_plan(
    apigw: Any, *, prefix: str, api_id: str, stage: str | None, rate: float, burst: int
) -> str:
    """The id of the shared plan for ``rate``/``burst`` on the API's stage, made if missing.

    A plan found by name must carry the same throttle: one edited by hand would silently give
    the new key another limit than the one recorded in the table, so that is an error.
    """
    name = plan_name(prefix, rate, burst)
    wanted_stage = {"apiId": api_id, "stage": stage}
    for plan in sorted(_plans(apigw), key=lambda plan: str(plan.get("id"))):
        if plan.get("name") != name:
            continue
        if throttle_of(plan) != (float(rate), int(burst)):
            raise AdminError(
                f"usage plan {name} ({plan['id']}) exists with a throttle of "
                f"{throttle_of(plan)}, not rate {rate} and burst {burst}; fix or rename it"
            )
        stages = [
            {"apiId": entry.get("apiId"), "stage": entry.get("stage")}
            for entry in plan.get("apiStages", [])
        ]
        if stage and wanted_stage not in stages:
            apigw.update_usage_plan(
                usagePlanId=plan["id"],
                patchOperations=[{"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"}],
            )
        return str(plan["id"])
    if not stage:
        raise AdminError(
            "no stage known, so no usage plan can be made for this rate/burst: pass --stage "
            "(or --stack)",
            exit_code=USAGE,
        )
    created = apigw.create_usage_plan(
        name=name,
        description=f"vegart-admin: keys throttled at {rate} requests/s, burst {burst}",
        apiStages=[wanted_stage],
        throttle={"rateLimit": float(rate), "burstLimit": int(burst)},
    )
    log.info("created usage plan %s (%s)", name, created["id"])
    return str(created["id"])


def create_api_key(apigw: Any, *, name: str, key_hash: str, plan_id: str) -> str:
    """Make the API key whose value is ``key_hash`` and put it in ``plan_id``; its id.

    If the plan refuses it, the key is removed again: a key outside every plan would be
    refused by API Gateway anyway, and it would block a retry (key values are unique).
    """
    created = apigw.create_api_key(name=name, value=key_hash, enabled=True)
    api_key_id = str(created["id"])
    try:
        apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=api_key_id, keyType="API_KEY")
    except BaseException:
        discard_api_key(apigw, api_key_id, plan_id=None)
        raise
    return api_key_id


def discard_api_key(apigw: Any, api_key_id: str, *, plan_id: str | None) -> None:
    """Undo :func:`create_api_key` after a later step failed; never raises.

    The caller is already handling the failure that matters; a second one here is reported as a
    warning naming what to remove by hand.
    """
    try:
        if plan_id:
            apigw.delete_usage_plan_key(usagePlanId=plan_id, keyId=api_key_id)
        apigw.delete_api_key(apiKey=api_key_id)
    except (ClientError, BotoCoreError) as exc:
        log.warning(
            "could not remove API Gateway key %s after a failure (%s); delete it by hand",
            api_key_id,
            type(exc).__name__,
        )


def set_enabled(apigw: Any, api_key_id: str, *, enabled: bool) -> bool:
    """Turn an API key on or off; ``False`` if it no longer exists (warned, not fatal)."""
    try:
        apigw.update_api_key(
            apiKey=api_key_id,
            patchOperations=[
                {"op": "replace", "path": "/enabled", "value": "true" if enabled else "false"}
            ],
        )
    except ClientError as exc:
        if error_code(exc) != "NotFoundException":
            raise
        log.warning("API Gateway key %s no longer exists", api_key_id)
        return False
    return True


def leave_plans(apigw: Any, api_key_id: str) -> list[dict[str, Any]]:
    """Take API key ``api_key_id`` out of every usage plan that holds it; those plans.

    Explicitly, before the key is deleted, rather than trusting the delete to do it: a plan's
    key list is then certain to be without it when the plan is looked at next.
    """
    plans: list[dict[str, Any]] = []
    for page in apigw.get_paginator("get_usage_plans").paginate(keyId=api_key_id):
        plans.extend(page.get("items", []))
    for plan in plans:
        try:
            apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=api_key_id)
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise
    return plans


def remove_plan_if_unused(apigw: Any, plan: dict[str, Any], *, prefix: str) -> bool:
    """Delete a plan this tool made (by its name) once no API key is left in it; whether it
    was deleted. Plans of other names (the stack's default plan, any made by hand) stay.

    A plan must be detached from its API stages before API Gateway deletes it.
    """
    name = str(plan.get("name", ""))
    if not name.startswith(f"{prefix}-rate-"):
        return False
    plan_id = str(plan["id"])
    if apigw.get_usage_plan_keys(usagePlanId=plan_id, limit=1).get("items"):
        return False
    stages = [f"{entry['apiId']}:{entry['stage']}" for entry in plan.get("apiStages", [])]
    if stages:
        apigw.update_usage_plan(
            usagePlanId=plan_id,
            patchOperations=[
                {"op": "remove", "path": "/apiStages", "value": stage} for stage in stages
            ],
        )
    apigw.delete_usage_plan(usagePlanId=plan_id)
    log.info("deleted usage plan %s (%s): no key uses it any more", name, plan_id)
    return True


def delete_api_key(apigw: Any, api_key_id: str) -> bool:
    """Delete an API key (API Gateway drops it from its plans); ``False`` if already gone."""
    try:
        apigw.delete_api_key(apiKey=api_key_id)
    except ClientError as exc:
        if error_code(exc) != "NotFoundException":
            raise
        log.warning("API Gateway key %s was already gone", api_key_id)
        return False
    return True
