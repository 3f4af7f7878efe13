"""Schemathesis against the local stack, driven by docs/openapi.yaml.

Every operation of the document is fuzzed over real HTTP with valid and invalid data
(schemathesis' positive and negative generation modes, through its examples, coverage and
fuzzing phases), and every answer must be one the document allows: schemathesis' checks
(a documented status, its content type, its body schema and its headers, valid data accepted,
invalid data rejected) and, on top of them, no 5xx at all (the mock behind the gateway is
healthy, so neither 500 nor 502 nor 504 has a cause) and every error body exactly
``{"error": "<non-empty string>"}``.

``make test`` fuzzes the render and the submit with 100 examples each of the fuzzing phase,
and the other operations with 25; ``make soak`` the render with 850 and the submit with 150,
over a thousand requests in all. The render and submit tests count what they sent and fail if
it is fewer requests than their examples. (The other operations have too few inputs, a path
and a header, for that many distinct requests: Hypothesis stops when it has tried them all.)

The demo key is throttled by its usage plan, so the fuzzing uses a key of its own, made with
``vegart-admin`` as an operator would, with a rate and credits that no run exhausts. A case
whose key schemathesis left out or spoiled on purpose (negative security) is sent as it is,
so that the 401 path is fuzzed too.

The v2 operations are fuzzed too, at the stage's root (their own servers in the document;
schemathesis sends every case to one base URL, so ``send`` chooses it by path). A submit's
``webhook`` is accepted only if its host resolves to a public address, which no schema can
say: the submit is fuzzed without the "valid data is accepted" check (every other check,
and the error body's shape, still hold).

Schemathesis' lazy ``from_fixture`` schema reads ``request.node._nodeid``, which pytest 9.2
no longer has; the schema is therefore loaded at import time and the stack's URL is given
per call (``case.call_and_validate(base_url=...)``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from devkit.functions import ROOT
from devkit.stack_process import RunningStack
from tests.helpers.tiers import SOAK

SCHEMA_PATH = ROOT / "docs" / "openapi.yaml"
#: Fixed, so that a run is reproduced by running it again.
SEED = 20240917
V1_RENDER = "/segmind-vega-rt-v1"
V2_SUBMIT = "/v2/segmind-vega-rt-v1"
DOCUMENTED_METHODS = {"POST", "OPTIONS", "GET", "PUT", "PATCH", "DELETE", "HEAD"}


@dataclass(frozen=True)
class Examples:
    """Examples of the fuzzing phase per operation; the examples and coverage phases add
    theirs."""

    render: int
    submit: int
    other: int


SMALL = Examples(render=100, submit=100, other=25)
FULL = Examples(render=850, submit=150, other=25)

schema = schemathesis.openapi.from_path(SCHEMA_PATH)
schema.config.seed = SEED
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    database="none",
    deterministic=True,
)


#: The document's paths, as written: which methods each one lists.
RAW_PATHS: dict[str, dict[str, Any]] = schema.raw_schema["paths"]


def fuzz_settings(max_examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        database=None,
        derandomize=True,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(hypothesis.HealthCheck),
    )


def use_key(case: schemathesis.Case, key: str) -> str:
    """Put the fuzzing key in place of the generated one, unless the case is about the key."""
    if schema.is_security_param_negated(case):
        return "a spoiled key"
    if case.headers is None or "x-api-key" not in case.headers:
        return "no key"
    case.headers["x-api-key"] = key
    return "the key"


def assert_error_shape(response: schemathesis.Response) -> None:
    """Every non-2xx answer: JSON, exactly one key ``error``, a non-empty string."""
    if response.status_code < 300:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.split(";")[0].strip() == "application/json", content_type
    if response.request.method == "HEAD":
        assert not response.content  # HTTP sends no body for HEAD
        return
    body: Any = json.loads(response.content)
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    assert isinstance(body["error"], str), body
    assert body["error"], body


@pytest.fixture
def sent(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """What one fuzzing test sent, by kind, checked when it ends: a run that sent fewer
    requests than its examples would have fuzzed less than it says."""
    counted: Counter[str] = Counter()
    yield counted
    print(f"\nfuzzing: {sum(counted.values())} requests: {dict(sorted(counted.items()))}")
    mark = request.node.get_closest_marker("fuzzing_examples")
    if mark is not None:
        assert sum(counted.values()) >= mark.args[0], counted


def send(
    case: schemathesis.Case, stack: RunningStack, key: str, sent: Counter[str], **checks: Any
) -> None:
    method = case.method.upper()
    keyed = use_key(case, key)
    # v2's paths hang off the stage's root, beside /v1 (their servers in the document).
    base_url = stack.base_url.removesuffix("/v1") if case.path.startswith("/v2/") else None
    call = {"base_url": base_url or stack.base_url}
    if method not in DOCUMENTED_METHODS or method.lower() not in RAW_PATHS[case.path]:
        # The coverage phase also sends methods that the document does not list (TRACE,
        # QUERY, and on v2's paths any but their own): the authorizer first (401 without a
        # valid key), then 405, always with the error body
        # (test_an_unlisted_method_answers_405_...).
        response = case.call(**call)
        sent[f"{method} (not in the document)"] += 1
        expected = 405 if keyed == "the key" else 401
        assert response.status_code == expected, (method, keyed, response.status_code)
        assert set(response.json()) == {"error"}
        return
    response = case.call_and_validate(**call, **checks)
    sent[f"{method} with {keyed}"] += 1
    assert response.status_code < 500, (response.status_code, response.content[:500])
    assert_error_shape(response)


def examples(count: int, *, counted: bool = True) -> Any:
    """Hypothesis' settings for ``count`` examples, and the mark that ``sent`` checks them by
    (not for operations whose inputs are too few to make that many distinct requests of: a
    preflight has a path and a header)."""

    def decorate(test: Any) -> Any:
        test = fuzz_settings(count)(test)
        return pytest.mark.fuzzing_examples(count)(test) if counted else test

    return decorate


# The render, the submit and the other operations, each twice: small for make test, at full
# scale for make soak. (Schemathesis makes one test per operation of a decorated function, and
# Hypothesis' settings are fixed when it is decorated, so the size cannot be a parameter.)


@schema.include(method="POST", path=V1_RENDER).parametrize()
@examples(SMALL.render)
def test_every_render_request_gets_an_answer_the_document_allows(
    case: schemathesis.Case, stack: RunningStack, roomy_key: str, sent: Counter[str]
) -> None:
    send(case, stack, roomy_key, sent)


@SOAK
@schema.include(method="POST", path=V1_RENDER).parametrize()
@examples(FULL.render)
def test_every_render_request_gets_an_answer_the_document_allows_at_full_scale(
    case: schemathesis.Case, stack: RunningStack, roomy_key: str, sent: Counter[str]
) -> None:
    send(case, stack, roomy_key, sent)


@schema.include(method="POST", path=V2_SUBMIT).parametrize()
@examples(SMALL.submit)
def test_every_submit_gets_an_answer_the_document_allows(
    case: schemathesis.Case, stack: RunningStack, roomy_key: str, sent: Counter[str]
) -> None:
    # Valid by the schema is not always accepted here: a webhook's host must resolve to a
    # public address (checked by the 400's own shape instead, in send).
    send(case, stack, roomy_key, sent, excluded_checks=[positive_data_acceptance])


@SOAK
@schema.include(method="POST", path=V2_SUBMIT).parametrize()
@examples(FULL.submit)
def test_every_submit_gets_an_answer_the_document_allows_at_full_scale(
    case: schemathesis.Case, stack: RunningStack, roomy_key: str, sent: Counter[str]
) -> None:
    send(case, stack, roomy_key, sent, excluded_checks=[positive_data_acceptance])


@schema.exclude(method="POST").parametrize()
@examples(SMALL.other, counted=False)
def test_every_other_method_gets_an_answer_the_document_allows(
    case: schemathesis.Case, stack: RunningStack, roomy_key: str, sent: Counter[str]
) -> None:
    # These operations document only errors (401, 405, 429) or the preflight's 204, so
    # "valid data is accepted with a 2xx" does not apply to them.
    send(case, stack, roomy_key, sent, excluded_checks=[positive_data_acceptance])


@SOAK
@schema.exclude(method="POST").parametrize()
@examples(FULL.other, counted=False)
def test_every_other_method_gets_an_answer_the_document_allows_at_full_scale(
    case: schemathesis.Case, stack: RunningStack, roomy_key: str, sent: Counter[str]
) -> None:
    send(case, stack, roomy_key, sent, excluded_checks=[positive_data_acceptance])


@pytest.mark.parametrize("body", [b"\x80", b"\xff\xfe\x00", b"\xe9~W;", b"\xed\xa0\x80"])
def test_a_body_that_is_not_utf8_is_a_400(stack: RunningStack, roomy_key: str, body: bytes) -> None:
    # Found by this fuzzing: the gateway once decoded the body as UTF-8 before validating
    # it (Powertools' decoded_body), and answered these with 500.
    response = requests.post(
        stack.render_url,
        data=body,
        headers={"x-api-key": roomy_key, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Request body must be valid JSON"}


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_an_unlisted_method_answers_405_with_the_error_body(
    stack: RunningStack, roomy_key: str, method: str
) -> None:
    response = requests.request(
        method, stack.render_url, headers={"x-api-key": roomy_key}, timeout=30
    )
    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"}
