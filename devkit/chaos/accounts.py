"""The chaos runs' own keys, made and read with ``vegart-admin`` as an operator would."""

from __future__ import annotations

import json

from ..stack_process import RunningStack, admin, create_key
from .plan import Keys


def balance(stack: RunningStack, key_id: str) -> int:
    return int(json.loads(admin(stack, "keys", "show", key_id, "--json"))["credits"])


def make_keys(stack: RunningStack, credits: int) -> Keys:
    chaos, chaos_id = create_key(stack, "chaos", credits)
    empty, empty_id = create_key(stack, "chaos-empty", 0)
    disabled, disabled_id = create_key(stack, "chaos-disabled", 10)
    admin(stack, "keys", "disable", disabled_id)
    return Keys(chaos, chaos_id, balance(stack, chaos_id), empty, empty_id, disabled)
