"""The jobs function: Segmind's v2 submit, status and result, in process, with moto and a
Segmind stand-in (``responses``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import responses

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import CLIENT_KEY_ID, api_event, header, response_json
from devkit.functions import load_function
from devkit.moto import add_key
from tests.helpers.deployment import CLIENT_CREDITS, credits
from tests.helpers.functions import Jobs
from vegart.jobs.record import RECORD_RETENTION_SECONDS
from vegart.keys import DISABLED, KeyStore

BASE = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/Prod"
OTHER_KEY = "vg_another-clients-key-0000000000"


def items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=aws["jobs_table"])["Items"])


# -- submit ----------------------------------------------------------------------------------


def test_a_submit_answers_at_once_with_absolute_urls(
    jobs: Jobs, keys: KeyStore, aws: dict[str, Any]
) -> None:
    answer = jobs.submit({"prompt": "a fox in the snow", "seed": 7})
    assert answer["statusCode"] == 200
    body = response_json(answer)
    request_id = body["request_id"]
    assert body == {
        "request_id": request_id,
        "status": "QUEUED",
        "status_url": f"{BASE}/v2/requests/{request_id}/status",
        "response_url": f"{BASE}/v2/requests/{request_id}",
        "poll_url": f"{BASE}/v2/requests/{request_id}/status",
    }
    assert header(answer, "Cache-Control") == "no-store"
    assert header(answer, "Access-Control-Allow-Origin") == "*"
    assert credits(keys) == CLIENT_CREDITS - 1  # held for the render
    assert jobs.waiting() == 1


def test_urls_follow_the_host_and_path_the_client_used(jobs: Jobs) -> None:
    event = api_event(
        {"prompt": "a fox"},
        path="/v2/segmind-vega-rt-v1",
        headers={"Host": "images.example.com", "X-Forwarded-Proto": "https"},
    )
    event["requestContext"]["path"] = "/render/v2/segmind-vega-rt-v1"  # a base path mapping
    body = response_json(jobs.fn.lambda_handler(event, still_context("JobsFunction", 10)))
    assert body["status_url"].startswith("https://images.example.com/render/v2/requests/")


@pytest.mark.parametrize("host", ["evil.example.com/attack", "a b", "<script>", ""])
def test_a_host_that_is_not_a_host_is_not_echoed(jobs: Jobs, host: str) -> None:
    answer = jobs.submit({"prompt": "a fox"}, headers={"Host": host})
    assert response_json(answer)["status_url"].startswith(BASE)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prompt": ""},
        {"prompt": 7},
        {"prompt": "a fox", "num_inference_steps": 11},
        {"prompt": "a fox", "img_width": 512},
        {"prompt": "a fox", "seed": -2},
        {"prompt": "a fox", "base64": "yes"},
        {"prompt": "a fox", "seed": 10**40},
    ],
    ids=lambda body: ",".join(f"{k}={v!r}"[:24] for k, v in body.items()) or "empty",
)
def test_submit_refuses_what_v1_refuses_before_anything_is_queued_or_held(
    jobs: Jobs, fn: Any, keys: KeyStore, aws: dict[str, Any], context: Any, body: dict
) -> None:
    v1 = fn.lambda_handler(api_event(body), context)
    v2 = jobs.submit(body)
    assert v2["statusCode"] == v1["statusCode"] == 400
    assert response_json(v2) == response_json(v1)
    assert credits(keys) == CLIENT_CREDITS
    assert jobs.waiting() == 0
    assert items(aws) == []


@pytest.mark.parametrize(
    "raw", [b"{", b"[]", b"\xff\xfe", b'{"prompt": NaN}'], ids=["cut", "list", "latin1", "nan"]
)
def test_submit_refuses_bodies_that_are_not_json_objects(jobs: Jobs, raw: bytes) -> None:
    answer = jobs.submit(raw_body=raw)
    assert answer["statusCode"] == 400
    assert set(response_json(answer)) == {"error"}
    assert jobs.waiting() == 0


def test_a_key_without_credits_is_refused_at_submit(
    jobs: Jobs, keys: KeyStore, aws: dict[str, Any]
) -> None:
    keys.update(CLIENT_KEY_ID, credits=0)
    answer = jobs.submit({"prompt": "a fox"})
    assert answer["statusCode"] == 406
    assert response_json(answer) == {"error": "Insufficient credits"}
    assert jobs.waiting() == 0
    assert items(aws) == []


def test_a_disabled_key_is_refused_at_submit(jobs: Jobs, keys: KeyStore) -> None:
    keys.update(CLIENT_KEY_ID, status=DISABLED)
    assert jobs.submit({"prompt": "a fox"})["statusCode"] == 403
    assert jobs.waiting() == 0


#: Bodies that break several of the function's rules at once, and what answers them: the first
#: check each fails, in docs/contract.md's order ("Which answer wins").
BROKEN_SEVERAL_WAYS = [
    (b"not json", 400, "Request body must be valid JSON"),
    (b'{"prompt": "", "seed": -5, "webhook": "http://[::1"}', 400, "prompt"),
    (b'{"prompt": "a fox", "seed": -5, "webhook": "http://[::1"}', 400, "seed"),
    (b'{"prompt": "a fox", "img_width": 512, "base64": 3}', 400, "img_width"),
    (b'{"prompt": "a fox", "webhook": "http://[::1"}', 400, "webhook must be a valid URL"),
    (b'{"prompt": "a fox", "webhook": "https://10.0.0.1/"}', 400, "webhook must reach"),
    (b'{"prompt": "a fox"}', 403, "disabled"),
]


@pytest.mark.parametrize(("raw", "status", "words"), BROKEN_SEVERAL_WAYS)
def test_a_request_that_breaks_several_rules_gets_the_first_checks_answer(
    jobs: Jobs, fn: Any, keys: KeyStore, raw: bytes, status: int, words: str
) -> None:
    # A key disabled since the authorizer's answer was cached, and without credits: both
    # come after the body's own checks.
    keys.update(CLIENT_KEY_ID, status=DISABLED, credits=0)
    answers = [jobs.submit(raw_body=raw)]
    if b"webhook" not in raw:  # v1 has no webhook: the same order without that step
        answers.append(fn.lambda_handler(api_event(raw_body=raw), still_context()))
    for answer in answers:
        assert answer["statusCode"] == status
        assert words in response_json(answer)["error"]
    assert jobs.waiting() == 0


def test_without_credits_a_cached_image_is_still_free_and_a_render_is_406(
    jobs: Jobs, fn: Any, segmind: responses.RequestsMock, keys: KeyStore, context: Any
) -> None:
    cached = {"prompt": "a fox", "seed": 3}
    assert fn.lambda_handler(api_event(cached), context)["statusCode"] == 200
    keys.update(CLIENT_KEY_ID, credits=0)
    assert fn.lambda_handler(api_event(cached), context)["statusCode"] == 200
    assert response_json(jobs.submit(cached))["status"] == "COMPLETED"
    for answer in (
        jobs.submit({"prompt": "a fox", "seed": 4}),
        fn.lambda_handler(api_event({"prompt": "a fox", "seed": 4}), context),
    ):
        assert answer["statusCode"] == 406


def test_a_request_the_authorizer_did_not_pass_is_refused(jobs: Jobs) -> None:
    assert jobs.submit({"prompt": "a fox"}, key_id=None)["statusCode"] == 401


def test_a_cached_image_completes_the_job_at_once_and_free(
    jobs: Jobs, fn: Any, segmind: responses.RequestsMock, keys: KeyStore, context: Any
) -> None:
    assert (
        fn.lambda_handler(api_event({"prompt": "a fox", "seed": 3}), context)["statusCode"] == 200
    )
    before = credits(keys)
    answer = jobs.submit({"prompt": "a fox", "seed": 3})
    body = response_json(answer)
    assert body["status"] == "COMPLETED"
    assert credits(keys) == before
    assert jobs.waiting() == 0
    result = response_json(jobs.result(body["request_id"]))
    assert (result["status"], result["cache"], result["seed"]) == ("COMPLETED", "HIT", 3)


def test_a_disabled_key_is_refused_even_for_a_cached_image(
    jobs: Jobs, fn: Any, segmind: responses.RequestsMock, keys: KeyStore, context: Any
) -> None:
    fn.lambda_handler(api_event({"prompt": "a fox", "seed": 3}), context)
    keys.update(CLIENT_KEY_ID, status=DISABLED)
    assert jobs.submit({"prompt": "a fox", "seed": 3})["statusCode"] == 403


def test_the_queue_unreachable_is_a_500_that_charges_and_writes_nothing(
    jobs: Jobs, keys: KeyStore, aws: dict[str, Any]
) -> None:
    boto3.client("sqs").delete_queue(QueueUrl=aws["job_queue_url"])
    answer = jobs.submit({"prompt": "a fox"})
    assert answer["statusCode"] == 500
    assert response_json(answer) == {"error": "The render queue is unavailable; try again later"}
    assert credits(keys) == CLIENT_CREDITS
    assert items(aws) == []


def test_the_jobs_table_unreachable_is_a_500_that_charges_nothing(
    jobs: Jobs, keys: KeyStore, aws: dict[str, Any]
) -> None:
    boto3.client("dynamodb").delete_table(TableName=aws["jobs_table"])
    answer = jobs.submit({"prompt": "a fox"})
    assert answer["statusCode"] == 500
    assert response_json(answer) == {"error": "The job store is unavailable; try again later"}
    assert credits(keys) == CLIENT_CREDITS


def test_a_random_seed_is_decided_at_submit(jobs: Jobs, aws: dict[str, Any]) -> None:
    jobs.submitted({"prompt": "a fox", "seed": -1})
    (item,) = items(aws)
    assert 0 <= int(item["seed"]["N"]) < 2**32


# -- status and result -----------------------------------------------------------------------


def test_a_queued_job_reads_as_queued(jobs: Jobs) -> None:
    request_id = jobs.submitted()
    for answer in (jobs.status(request_id), jobs.result(request_id)):
        assert answer["statusCode"] == 200
        body = response_json(answer)
        assert body["status"] == "QUEUED"
        assert body["request_id"] == request_id
        assert body["created_at"].endswith("Z")
        assert "output" not in body
        assert header(answer, "Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "request_id",
    [
        "6d64edd9-8082-4b04-9d5d-2fa747461283",  # well formed, but nobody's
        "nope",
        "6d64edd9-8082-4b04-9d5d-2fa747461283'--",
        "%2e%2e",
        "x" * 2000,
    ],
)
def test_unknown_and_malformed_ids_are_404(jobs: Jobs, request_id: str) -> None:
    for answer in (jobs.status(request_id), jobs.result(request_id)):
        assert answer["statusCode"] == 404
        assert response_json(answer) == {"error": "Not found"}


def test_an_id_in_upper_case_is_the_same_job_answered_in_lower_case(jobs: Jobs) -> None:
    request_id = jobs.submitted()
    for shouting in (request_id.upper(), request_id[:8].upper() + request_id[8:]):
        for answer in (jobs.status(shouting), jobs.result(shouting)):
            assert answer["statusCode"] == 200
            assert response_json(answer)["request_id"] == request_id


def test_another_keys_job_is_404_not_403(jobs: Jobs, keys: KeyStore) -> None:
    request_id = jobs.submitted()
    other = add_key(keys, OTHER_KEY, 5)
    for answer in (
        jobs.status(request_id, key_id=other),
        jobs.result(request_id, key_id=other),
    ):
        assert answer["statusCode"] == 404


def test_other_methods_are_405_with_allow(jobs: Jobs) -> None:
    request_id = jobs.submitted()
    answer = jobs.read(
        f"/v2/requests/{request_id}/status", "/v2/requests/{request_id}/status", "POST"
    )
    assert answer["statusCode"] == 405
    assert header(answer, "Allow") == "GET, OPTIONS"
    answer = jobs.submit({"prompt": "a fox"}, method="GET")
    assert answer["statusCode"] == 405
    assert header(answer, "Allow") == "POST, OPTIONS"


def test_a_browser_may_poll_from_another_origin(jobs: Jobs) -> None:
    request_id = jobs.submitted()
    event = api_event(
        None,
        method="OPTIONS",
        path=f"/v2/requests/{request_id}/status",
        resource="/v2/requests/{request_id}/status",
        key_id=None,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    answer = jobs.fn.lambda_handler(event, still_context("JobsFunction", 10))
    assert answer["statusCode"] == 204
    assert "x-api-key" in (header(answer, "Access-Control-Allow-Headers") or "")


def test_a_completed_job_hands_out_a_presigned_url_of_its_render(
    jobs: Jobs, segmind: responses.RequestsMock, aws: dict[str, Any]
) -> None:
    request_id = jobs.submitted({"prompt": "a fox in the snow", "seed": 7})
    assert jobs.work() == 1
    answer = jobs.result(request_id)
    assert answer["statusCode"] == 200
    body = response_json(answer)
    assert body["status"] == "COMPLETED"
    assert (body["seed"], body["cache"]) == (7, "MISS")
    assert set(body["metrics"]) == {"queue_seconds", "render_seconds"}
    url = urlsplit(body["output"])
    query = parse_qs(url.query)
    (item,) = items(aws)
    # S3's own host for the bucket (virtual-hosted), over TLS, naming the render's key.
    assert url.scheme == "https"
    assert url.netloc.startswith(f"{aws['bucket']}.s3.")
    assert url.path == f"/{item['render_key']['S']}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["3600"]
    assert query["response-content-type"] == ["image/jpeg"]
    # A fresh signature each time the result is asked for.
    assert response_json(jobs.result(request_id))["output_expires_at"] >= body["output_expires_at"]


def test_the_url_lifetime_is_the_deployments(
    aws: dict[str, Any], segmind: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTPUT_URL_SECONDS", "120")
    jobs = Jobs(aws)
    request_id = jobs.submitted()
    jobs.work()
    query = parse_qs(urlsplit(response_json(jobs.result(request_id))["output"]).query)
    assert query["X-Amz-Expires"] == ["120"]


def test_a_job_past_its_time_is_failed_when_read_and_its_credit_given_back(
    jobs: Jobs, keys: KeyStore, aws: dict[str, Any]
) -> None:
    request_id = jobs.submitted()
    # Nobody ever worked it (say its message was lost), and its time is up.
    boto3.client("dynamodb").update_item(
        TableName=aws["jobs_table"],
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET give_up_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    answer = jobs.status(request_id)
    assert answer["statusCode"] == 422
    body = response_json(answer)
    assert body["status"] == "FAILED"
    assert body["error"] == "The render did not finish in time; please submit it again"
    assert credits(keys) == CLIENT_CREDITS
    (item,) = items(aws)
    assert int(item["expires_at"]["N"]) >= int(float(item["completed_at"]["N"])) + 3600
    assert RECORD_RETENTION_SECONDS >= 3600


def test_the_functions_never_log_the_prompt(
    jobs: Jobs, segmind: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = jobs.submitted({"prompt": "my neighbour's secret garden", "seed": 1})
    jobs.work()
    jobs.result(request_id)
    assert "secret garden" not in capsys.readouterr().out


def test_the_jobs_function_never_builds_a_backend(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sagemaker deployment names its endpoint only to the renderers: submit must not need it.
    monkeypatch.setenv("VEGART_BACKEND", "sagemaker")
    monkeypatch.delenv("SAGEMAKER_ENDPOINT_NAME", raising=False)
    fn = load_function("jobs", sleep=no_wait)
    answer = fn.lambda_handler(
        api_event({"prompt": "a fox"}, path="/v2/segmind-vega-rt-v1"), still_context()
    )
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "QUEUED"
