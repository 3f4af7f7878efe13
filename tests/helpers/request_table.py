"""The contract's request table (docs/contract.md), written independently of vegart.contract,
and Hypothesis strategies of request bodies: each field valid, absent, at an edge of the table
or any JSON, unknown fields beside; :func:`judge` says what the table makes of one."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from vegart.contract import MAX_PROMPT_CHARS, MAX_SEED

INTEGER_FIELDS = {
    # name: (default, low, high)
    "num_inference_steps": (4, 4, 10),
    "seed": (-1, -1, MAX_SEED),
    "img_width": (1024, 1024, 1024),
    "img_height": (1024, 1024, 1024),
}
FIELDS = ("prompt", *INTEGER_FIELDS, "base64")
ABSENT = object()


def expected_value(name: str, value: Any) -> tuple[bool, Any]:
    """(valid, the value the request takes) for one field, by docs/contract.md's table."""
    if name == "prompt":
        ok = isinstance(value, str) and 1 <= len(value) <= MAX_PROMPT_CHARS and value.strip()
        return bool(ok), value
    if value is ABSENT or value is None:  # absent and null take the default
        return True, INTEGER_FIELDS[name][0] if name in INTEGER_FIELDS else False
    if name == "base64":
        return isinstance(value, bool), value
    _default, low, high = INTEGER_FIELDS[name]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return is_int and low <= value <= high, value


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
#: The values next to every edge of the table, which random JSON would rarely hit.
edge_values = st.sampled_from(
    [
        *(-2, -1, 0, 1, 3, 4, 5, 10, 11, 1023, 1024, 1025, MAX_SEED, MAX_SEED + 1, 2**63),
        *(4.0, 4.5, 1024.0, -1.0, "4", "1024", "true", True, False, None),
        *("", " ", "\t\n", "\u3000", "a", " a ", "a" * MAX_PROMPT_CHARS, "a" * 4097),
        *([], {}, [4], {"prompt": "a"}),
    ]
)
field_values = st.one_of(st.just(ABSENT), edge_values, json_values)
known = set(FIELDS)
extra_fields = st.dictionaries(
    st.text(max_size=12).filter(lambda name: name not in known), json_values, max_size=3
)


def valid_values(name: str) -> st.SearchStrategy[Any]:
    """Values the table accepts for one field (absent and null included)."""
    if name == "prompt":
        return st.text(min_size=1, max_size=40).filter(str.strip) | st.just("a" * MAX_PROMPT_CHARS)
    if name == "base64":
        return st.sampled_from([ABSENT, None, True, False])
    _default, low, high = INTEGER_FIELDS[name]
    return st.just(ABSENT) | st.none() | st.integers(low, high)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object: each field of the table absent or any value, unknown fields beside.

    Each field is left to chance (any JSON, an edge of the table, absent) one time in five,
    and is otherwise valid, so that the valid bodies that render are common too, and every
    field is reached and judged.
    """
    body: dict[str, Any] = draw(extra_fields)
    for name in FIELDS:
        wild = draw(st.integers(0, 4)) == 0
        value = draw(field_values if wild else valid_values(name))
        if value is not ABSENT:
            body[name] = value
    return body


def judge(body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The fields that break the table, and the values the request takes."""
    bad, values = [], {}
    for name in FIELDS:
        ok, value = expected_value(name, body.get(name, ABSENT))
        if not ok:
            bad.append(name)
        values[name] = value
    return bad, values
