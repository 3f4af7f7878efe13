"""docs/openapi.yaml: a valid OpenAPI document that says what the code and the template do.

Every number in the request schema, every status, header and body shape is read back from
``vegart`` (the contract's code), from ``template.yaml`` or from the render function itself, so
that the document cannot drift from what a client really gets.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from functools import cache
from types import ModuleType
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import OpenAPIV30SpecValidator

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import api_event, header, preflight_event
from devkit.functions import load_function
from tests.helpers.functions import URL, Jobs
from tests.helpers.template import OPENAPI_PATH, load_template
from vegart.api import rest, v1
from vegart.api.routes import ROUTE
from vegart.contract import (
    INT_FIELDS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    IntField,
    RenderRequest,
    parse_render_request,
)
from vegart.errors import BadRequest, ContractError, MethodNotAllowed, RateLimited
from vegart.render.service import RenderResult

PATH = "/segmind-vega-rt-v1"
#: Segmind's v2 API, under servers of their own: the stage's root.
V2_PATHS = [
    "/v2/segmind-vega-rt-v1",
    "/v2/requests/{request_id}/status",
    "/v2/requests/{request_id}",
    "/v2/webhooks/default/secret",
]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TINY_JPEG = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@cache
def _document() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return _document()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def deref(node: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/...``) until a real object is reached."""
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        assert pointer.startswith("#/"), f"only local references are used, not {pointer}"
        node = _document()
        for part in pointer[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(node: Any) -> Any:
    """A deep copy of ``node`` with every local reference replaced by its target."""
    node = deref(node)
    if isinstance(node, dict):
        return {key: resolved(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(item) for item in node]
    return node


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The route's operations by lower-case method."""
    item = doc["paths"][PATH]
    return {method: item[method] for method in HTTP_METHODS if method in item}


def responses_of(operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(status): deref(response) for status, response in operation["responses"].items()}


def error_statuses(operation: dict[str, Any]) -> set[int]:
    return {status for status in responses_of(operation) if status >= 400}


def request_schema(doc: dict[str, Any]) -> dict[str, Any]:
    body = operations(doc)["post"]["requestBody"]
    return resolved(body["content"]["application/json"]["schema"])


def response_headers(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Documented headers by lower-case name, references resolved."""
    return {name.lower(): resolved(value) for name, value in response.get("headers", {}).items()}


def gateway_error_statuses() -> set[int]:
    """Every status the code can raise: one per ContractError subclass, however deep."""
    statuses: set[int] = set()
    pending = [ContractError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            statuses.add(subclass.status)
            pending.append(subclass)
    return statuses


def gateway_error_classes() -> list[type[ContractError]]:
    found: list[type[ContractError]] = []
    pending = [ContractError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return template["Resources"]["RenderApi"]["Properties"]["GatewayResponses"]


def template_statuses(template: dict[str, Any]) -> set[int]:
    return {int(response["StatusCode"]) for response in gateway_responses(template).values()}


def render_events(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events = template["Resources"]["RenderFunction"]["Properties"]["Events"]
    return {name: event["Properties"] for name, event in events.items()}


def parser_accepts(body: Any) -> bool:
    try:
        parse_render_request(json.dumps(body))
    except BadRequest:
        return False
    return True


def header_value(value: str, schema: dict[str, Any]) -> Any:
    """A header's text as the type its schema declares."""
    return int(value) if schema.get("type") == "integer" else value


# ---------------------------------------------------------------------------------------------
# The document itself
# ---------------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_0(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.0.")
    errors = [error.message for error in OpenAPIV30SpecValidator(doc).iter_errors()]
    assert errors == []


def test_every_operation_has_a_unique_id_and_a_summary(doc: dict[str, Any]) -> None:
    ids = [operation["operationId"] for operation in operations(doc).values()]
    assert len(ids) == len(set(ids))
    assert all(operation.get("summary") for operation in operations(doc).values())


# ---------------------------------------------------------------------------------------------
# Route, servers and security
# ---------------------------------------------------------------------------------------------


def test_the_route_is_the_one_the_template_and_the_code_serve(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    assert list(doc["paths"]) == [PATH, *V2_PATHS]
    events = render_events(template)
    assert {event["Path"] for event in events.values()} == {ROUTE}
    # Every server URL ends in /v1, and /v1 + the documented path is the served route.
    assert all(server["url"].endswith("/v1") for server in doc["servers"])
    assert "/v1" + PATH == ROUTE
    methods = {event["Method"].lower() for event in events.values()}
    assert methods == {"post", "options", "any"}
    assert {"post", "options"} <= set(operations(doc))


def test_the_deployed_server_is_the_stacks_base_url(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    base_url = template["Outputs"]["BaseUrl"]["Value"]["Fn::Sub"]
    as_template = (
        base_url.replace("${RenderApi}", "{api}")
        .replace("${AWS::Region}", "{region}")
        .replace("${AWS::URLSuffix}", "amazonaws.com")
        .replace("${StageName}", "{stage}")
    )
    deployed, local = doc["servers"]
    assert deployed["url"] == as_template
    assert deployed["url"] == "https://{api}.execute-api.{region}.amazonaws.com/{stage}/v1"
    assert set(deployed["variables"]) == {"api", "region", "stage"}
    assert (
        deployed["variables"]["stage"]["default"] == template["Parameters"]["StageName"]["Default"]
    )
    assert local["url"] == "http://127.0.0.1:3000/v1"


def test_the_key_goes_in_x_api_key_and_the_preflight_needs_none(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {"ApiKey": {**schemes["ApiKey"], "type": "apiKey", "in": "header"}}
    assert schemes["ApiKey"]["name"] == "x-api-key"
    assert doc["security"] == [{"ApiKey": []}]
    for method, operation in operations(doc).items():
        if method == "options":
            assert operation["security"] == []
        else:
            assert "security" not in operation, f"{method} must keep the global key requirement"
    assert template["Resources"]["RenderApi"]["Properties"]["Auth"]["ApiKeyRequired"] is True
    assert render_events(template)["Preflight"]["Auth"]["ApiKeyRequired"] is False
    assert "x-api-key" in [name.lower() for name in rest.ALLOWED_HEADERS]


# ---------------------------------------------------------------------------------------------
# The request body
# ---------------------------------------------------------------------------------------------


def test_the_request_fields_are_exactly_the_contracts(doc: dict[str, Any]) -> None:
    schema = request_schema(doc)
    fields = {field.name for field in dataclasses.fields(RenderRequest)}
    assert set(schema["properties"]) == fields
    assert {field.name for field in INT_FIELDS} | {"prompt", "base64"} == fields
    assert schema["type"] == "object"
    assert schema["required"] == ["prompt"]


@pytest.mark.parametrize("field", INT_FIELDS, ids=lambda field: field.name)
def test_each_integer_field_matches_its_row_in_the_code(
    doc: dict[str, Any], field: IntField
) -> None:
    prop = request_schema(doc)["properties"][field.name]
    assert prop["type"] == "integer"
    assert prop["minimum"] == field.low
    assert prop["maximum"] == field.high
    assert prop["default"] == field.default
    assert prop["nullable"] is True  # null takes the default
    if field.low == field.high:
        # One allowed value: an enum, with null in it as OpenAPI 3.0.3 requires for nullable.
        assert prop["enum"] == [field.low, None]
    else:
        assert "enum" not in prop
    if field.high > 2**31 - 1:
        assert prop["format"] == "int64"


def test_every_default_is_the_one_the_parser_fills_in(doc: dict[str, Any]) -> None:
    props = request_schema(doc)["properties"]
    parsed = parse_render_request(json.dumps({"prompt": "p"}))
    for field in dataclasses.fields(RenderRequest):
        if field.name == "prompt":
            assert "default" not in props["prompt"]
        else:
            assert props[field.name]["default"] == getattr(parsed, field.name) == field.default


def test_the_prompt_and_base64_rules_match_the_code(doc: dict[str, Any]) -> None:
    props = request_schema(doc)["properties"]
    prompt = props["prompt"]
    assert prompt["type"] == "string"
    assert prompt["minLength"] == 1
    assert prompt["maxLength"] == MAX_PROMPT_CHARS
    assert not prompt.get("nullable", False)  # a null prompt is "prompt is required"
    assert "pattern" in prompt  # not only white space
    flag = props["base64"]
    assert flag["type"] == "boolean"
    assert flag["nullable"] is True
    assert flag["default"] is False


def test_unknown_fields_are_allowed_as_the_parser_ignores_them(doc: dict[str, Any]) -> None:
    schema = request_schema(doc)
    assert schema.get("additionalProperties", True) is not False
    assert parser_accepts({"prompt": "p", "negative_prompt": "x", "scheduler": None})


AGREEMENT_BODIES: list[Any] = [
    {"prompt": "a lighthouse"},
    {"prompt": "a" * MAX_PROMPT_CHARS},
    {"prompt": "a" * (MAX_PROMPT_CHARS + 1)},
    {"prompt": "é" * MAX_PROMPT_CHARS},
    {"prompt": "\U0001f600" * MAX_PROMPT_CHARS},
    {"prompt": ""},
    {"prompt": "   "},
    {"prompt": "\t\n"},
    {"prompt": "\u00a0\u2003"},
    {"prompt": "  x  "},
    {"prompt": None},
    {"prompt": 5},
    {"prompt": ["a"]},
    {},
    {"seed": 1},
    {"prompt": "p", "num_inference_steps": 3},
    {"prompt": "p", "num_inference_steps": 4},
    {"prompt": "p", "num_inference_steps": 10},
    {"prompt": "p", "num_inference_steps": 11},
    {"prompt": "p", "num_inference_steps": "4"},
    {"prompt": "p", "num_inference_steps": 4.5},
    {"prompt": "p", "num_inference_steps": 4.0},
    {"prompt": "p", "num_inference_steps": True},
    {"prompt": "p", "num_inference_steps": None},
    {"prompt": "p", "seed": -2},
    {"prompt": "p", "seed": -1},
    {"prompt": "p", "seed": 0},
    {"prompt": "p", "seed": MAX_SEED},
    {"prompt": "p", "seed": MAX_SEED + 1},
    {"prompt": "p", "seed": None},
    {"prompt": "p", "seed": False},
    {"prompt": "p", "img_width": 1024, "img_height": 1024},
    {"prompt": "p", "img_width": 512},
    {"prompt": "p", "img_height": 1025},
    {"prompt": "p", "img_width": None, "img_height": None},
    {"prompt": "p", "img_width": "1024"},
    {"prompt": "p", "base64": True},
    {"prompt": "p", "base64": False},
    {"prompt": "p", "base64": None},
    {"prompt": "p", "base64": 1},
    {"prompt": "p", "base64": "true"},
    {"prompt": "p", "unknown": {"nested": [1, 2]}},
    [],
    "prompt",
    None,
]


@pytest.mark.parametrize("body", AGREEMENT_BODIES, ids=lambda body: json.dumps(body)[:60])
def test_the_schema_and_the_parser_agree_on_a_body(doc: dict[str, Any], body: Any) -> None:
    schema_accepts = OAS30Validator(request_schema(doc)).is_valid(body)
    assert schema_accepts == parser_accepts(body)


def test_the_example_requests_pass_the_parser_and_the_schema(doc: dict[str, Any]) -> None:
    content = operations(doc)["post"]["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in content["examples"].values()]
    assert examples
    validator = OAS30Validator(request_schema(doc))
    props = request_schema(doc)["properties"]
    for example in examples:
        validator.validate(example)
        parsed = parse_render_request(json.dumps(example))
        for name, prop in props.items():
            expected = example[name] if name in example else prop["default"]
            assert getattr(parsed, name) == expected


# ---------------------------------------------------------------------------------------------
# The 200
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cache_hit", [False, True])
@pytest.mark.parametrize("base64_body", [False, True])
def test_the_200_is_what_the_function_answers(
    doc: dict[str, Any], base64_body: bool, cache_hit: bool
) -> None:
    ok = responses_of(operations(doc)["post"])[200]
    result = RenderResult(
        image=TINY_JPEG, seed=758143278, cache_hit=cache_hit, key="k", remaining_credits=41
    )
    answer = v1.image_response(result, base64_body=base64_body, req_id="req-1")
    assert answer.status_code == 200
    assert set(ok["content"]) == {"image/jpeg", "application/json"}
    assert answer.content_type in ok["content"]

    documented = response_headers(ok)
    sent = {name.lower(): value for name, value in answer.headers.items()}
    sent.pop("content-type")
    required = {name for name, spec in documented.items() if spec.get("required")}
    assert set(sent) == required
    for name, value in sent.items():
        schema = documented[name]["schema"]
        assert OAS30Validator(schema).is_valid(header_value(value, schema)), (name, value)

    if base64_body:
        schema = resolved(ok["content"]["application/json"]["schema"])
        body = json.loads(answer.body)
        OAS30Validator(schema).validate(body)
        assert set(body) == set(schema["properties"]) == set(schema["required"])
        assert base64.b64decode(body["image"]) == TINY_JPEG
        assert body["seed"] == int(sent["x-seed-value"])
    else:
        assert ok["content"]["image/jpeg"]["schema"] == {
            **ok["content"]["image/jpeg"]["schema"],
            "type": "string",
            "format": "binary",
        }
        assert answer.body == TINY_JPEG


def test_every_header_a_page_needs_is_exposed_by_cors(doc: dict[str, Any]) -> None:
    exposed = {name.lower() for name in rest.EXPOSED_HEADERS}
    ok = responses_of(operations(doc)["post"])[200]
    limited = responses_of(operations(doc)["post"])[429]
    for name in set(response_headers(ok)) | set(response_headers(limited)):
        if not name.startswith("access-control-"):
            assert name in exposed, f"{name} is documented but a browser page cannot read it"


def test_the_seed_header_covers_every_seed_a_request_can_ask_for(doc: dict[str, Any]) -> None:
    ok = responses_of(operations(doc)["post"])[200]
    schema = response_headers(ok)["x-seed-value"]["schema"]
    seed_field = next(field for field in INT_FIELDS if field.name == "seed")
    assert schema["minimum"] == 0
    assert schema["maximum"] == seed_field.high


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_the_documented_error_statuses_are_exactly_those_the_gateway_answers(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    allowed = gateway_error_statuses() | template_statuses(template)
    documented = set().union(*(error_statuses(op) for op in operations(doc).values()))
    assert documented == allowed
    assert allowed == {400, 401, 403, 404, 405, 406, 429, 500, 502, 504}
    # POST answers every one of them but 405, which only other methods get.
    assert error_statuses(operations(doc)["post"]) == allowed - {MethodNotAllowed.status}
    # API Gateway's own answers never use a status the contract does not allow.
    assert template_statuses(template) <= allowed - {MethodNotAllowed.status}


def test_every_error_answer_is_the_error_schema_in_json(doc: dict[str, Any]) -> None:
    error_schema = doc["components"]["schemas"]["Error"]
    assert error_schema["required"] == ["error"]
    assert error_schema["additionalProperties"] is False
    assert error_schema["properties"]["error"]["type"] == "string"
    for method, operation in operations(doc).items():
        for status, response in responses_of(operation).items():
            if status < 400:
                continue
            assert set(response["content"]) == {"application/json"}, (method, status)
            media = response["content"]["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Error"}, (method, status)
            OAS30Validator(error_schema).validate(media["example"])


def test_the_functions_error_bodies_match_the_error_schema(doc: dict[str, Any]) -> None:
    validator = OAS30Validator(doc["components"]["schemas"]["Error"])
    for error_class in gateway_error_classes():
        answer = rest.error_response(error_class(), "req-1")
        assert answer.status_code == error_class.status
        assert answer.content_type == "application/json"
        validator.validate(json.loads(answer.body))


def test_api_gateways_own_error_bodies_match_the_error_schema(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    validator = OAS30Validator(doc["components"]["schemas"]["Error"])
    for name, response in gateway_responses(template).items():
        assert set(response["ResponseTemplates"]) == {"application/json"}, name
        validator.validate(json.loads(response["ResponseTemplates"]["application/json"]))


def test_a_429_documents_retry_after_as_every_429_sends_it(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    limited = responses_of(operations(doc)["post"])[429]
    documented = response_headers(limited)
    assert documented["retry-after"]["required"] is True
    schema = documented["retry-after"]["schema"]
    validator = OAS30Validator(schema)
    for name, value in RateLimited(retry_after=0).headers.items():
        assert name.lower() in documented
        assert validator.is_valid(header_value(value, schema))
    throttles = [r for r in gateway_responses(template).values() if r["StatusCode"] == "429"]
    assert throttles
    for response in throttles:
        value = response["ResponseParameters"]["Headers"]["Retry-After"]
        assert validator.is_valid(header_value(value.strip("'"), schema))


# ---------------------------------------------------------------------------------------------
# The preflight and the other methods, against the function itself
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def fn(aws: dict[str, Any]) -> ModuleType:
    return load_function("render", sleep=no_wait)


def test_the_other_methods_are_405s_from_the_function(doc: dict[str, Any], fn: ModuleType) -> None:
    refused = {
        method
        for method, operation in operations(doc).items()
        if MethodNotAllowed.status in responses_of(operation)
    }
    assert refused == set(operations(doc)) - {"post", "options"}
    for method in sorted(refused):
        response = fn.lambda_handler(api_event(None, method=method.upper()), still_context())
        assert response["statusCode"] == MethodNotAllowed.status, method
        documented = response_headers(responses_of(operations(doc)[method])[405])
        assert {"allow", "x-request-id"} <= set(documented)
        allowed = {part.strip().lower() for part in (header(response, "Allow") or "").split(",")}
        assert allowed == {"post", "options"}


def test_the_preflight_is_a_204_with_the_documented_cors_headers(
    doc: dict[str, Any], fn: ModuleType
) -> None:
    documented = responses_of(operations(doc)["options"])
    assert set(documented) == {204}
    assert "content" not in documented[204]
    event = preflight_event()
    response = fn.lambda_handler(event, still_context())
    assert response["statusCode"] == 204
    for name in response_headers(documented[204]):
        assert header(response, name) is not None, name
    expose = response_headers(documented[204])["access-control-expose-headers"]["schema"]
    assert expose["example"] == ",".join(rest.EXPOSED_HEADERS)
    assert header(response, "Access-Control-Expose-Headers") == expose["example"]


# ---------------------------------------------------------------------------------------------
# v2: submit, status, result
# ---------------------------------------------------------------------------------------------


def v2_operation(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = doc["paths"][path][method]
    return operation


def test_the_v2_routes_are_the_jobs_functions(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    events = template["Resources"]["JobsFunction"]["Properties"]["Events"].values()
    served = {(event["Properties"]["Path"], event["Properties"]["Method"]) for event in events}
    for path in V2_PATHS:
        documented = {method for method in HTTP_METHODS if method in doc["paths"][path]}
        verb = "post" if path == V2_PATHS[0] else "get"
        assert documented == {verb, "options"}
        assert {(path, verb), (path, "options"), (path, "any")} <= served
        assert doc["paths"][path]["options"]["security"] == []


def test_the_v2_servers_are_the_stage_root_the_submit_url_is_on(
    doc: dict[str, Any], template: dict[str, Any]
) -> None:
    submit_url = template["Outputs"]["SubmitUrl"]["Value"]["Fn::Sub"]
    root = (
        submit_url.removesuffix(V2_PATHS[0])
        .replace("${RenderApi}", "{api}")
        .replace("${AWS::Region}", "{region}")
        .replace("${AWS::URLSuffix}", "amazonaws.com")
        .replace("${StageName}", "{stage}")
    )
    for path in V2_PATHS:
        deployed, local = doc["paths"][path]["servers"]
        assert deployed["url"] == root
        assert deployed["url"] + "/v1" == doc["servers"][0]["url"]
        assert local["url"] + "/v1" == doc["servers"][1]["url"]


def test_the_v2_answers_are_the_documented_shapes(
    doc: dict[str, Any], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import responses

    from mock_server import render_jpeg

    def schema(path: str, method: str, status: int) -> OAS30Validator:
        response = responses_of(v2_operation(doc, path, method))[status]
        return OAS30Validator(resolved(response["content"]["application/json"]["schema"]))

    def image(request: Any) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(request.body)
        return 200, {}, render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])

    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")  # a receiver on this machine
    jobs = Jobs(aws)
    with responses.RequestsMock() as segmind:
        segmind.add_callback(responses.POST, URL, callback=image)
        hooked = jobs.submitted({"prompt": "a hooked fox", "webhook": "http://127.0.0.1:9/"})
        jobs.work()
        jobs.deliver()  # nobody listens there: one attempt recorded, a retry due
        with_attempts = json.loads(jobs.result(hooked)["body"])
        assert with_attempts["webhook_status"] == "retrying"
        schema(V2_PATHS[2], "get", 200).validate(with_attempts)
        OAS30Validator(resolved(doc["components"]["schemas"]["JobResult"])).validate(with_attempts)
        submitted = json.loads(jobs.submit({"prompt": "a fox", "seed": 1})["body"])
        schema(V2_PATHS[0], "post", 200).validate(submitted)
        request_id = submitted["request_id"]
        queued = jobs.status(request_id)
        schema(V2_PATHS[1], "get", 200).validate(json.loads(queued["body"]))
        schema(V2_PATHS[2], "get", 200).validate(json.loads(jobs.result(request_id)["body"]))
        jobs.work()
        done = json.loads(jobs.result(request_id)["body"])
        schema(V2_PATHS[2], "get", 200).validate(done)
        OAS30Validator(resolved(doc["components"]["schemas"]["JobResult"])).validate(done)
        segmind.replace(responses.POST, URL, status=400, json={"error": "refused"})
        failed = jobs.submitted({"prompt": "a refused fox", "seed": 2})
        jobs.work()
    secret = jobs.read(V2_PATHS[3], V2_PATHS[3])
    schema(V2_PATHS[3], "get", 200).validate(json.loads(secret["body"]))
    for path in V2_PATHS[1:3]:
        answer = jobs.read(path.replace("{request_id}", failed), path)
        assert answer["statusCode"] == 422
        schema(path, "get", 422).validate(json.loads(answer["body"]))
        missing = jobs.read(path.replace("{request_id}", "nope"), path)
        assert missing["statusCode"] == 404
        schema(path, "get", 404).validate(json.loads(missing["body"]))
