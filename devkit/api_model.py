"""What API Gateway would do, read from ``template.yaml``: routes, auth, media types, errors.

The local gateway holds no rule of its own: each route, the authorizer and its cache time, the
binary media types, every gateway response and each function's environment come from the
template, with parameters at their defaults (or overridden) and conditions evaluated as
CloudFormation would. A change to the template changes the local stack with it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .resources import TEMPLATE_PATH, template

INTEGRATION_TIMEOUT_SECONDS = 29.0


class TemplateError(ValueError):
    """The template uses something this reader does not understand."""


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str
    timeout: float
    environment: dict[str, str]


@dataclass(frozen=True)
class Route:
    path: str  # as the template writes it: /v2/requests/{request_id}
    method: str  # upper case, or "ANY"
    function: str
    authorizer: str | None
    api_key_required: bool

    def parameters(self, path: str) -> dict[str, str] | None:
        """The path parameters if ``path`` is on this route (``{name}`` is one segment)."""
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return None if found is None else found.groupdict()


@dataclass(frozen=True)
class QueueSource:
    """An ``SQS`` event of a function: Lambda's event source mapping on one of the queues."""

    function: str
    queue: str  # the queue's logical id
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int


@dataclass(frozen=True)
class Authorizer:
    function: str
    identity_headers: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: dict[str, str]  # values: "'literal'" or "method.request.header.Name"
    body: str


@dataclass
class ApiModel:
    stage: str
    binary_media_types: tuple[str, ...]
    routes: list[Route]
    authorizers: dict[str, Authorizer]
    responses: dict[str, GatewayResponse]
    functions: dict[str, FunctionSpec]
    api_key_source: str = "HEADER"
    parameters: dict[str, str] = field(default_factory=dict)
    queue_sources: list[QueueSource] = field(default_factory=list)

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route API Gateway would pick, with the path's parameters: a literal path before
        one with parameters, then the exact method before ``ANY``."""
        matches = [(route, route.parameters(path)) for route in self.routes]
        on_path = [(route, found) for route, found in matches if found is not None]
        on_path.sort(key=lambda match: "{" in match[0].path)
        if on_path:
            literal = [match for match in on_path if match[0].path == on_path[0][0].path]
            exact = [match for match in literal if match[0].method == method]
            chosen = exact or [match for match in literal if match[0].method == "ANY"]
            if chosen:
                return chosen[0]
        return None


def load(
    resources: dict[str, str], parameters: dict[str, str] | None = None, api: str = "RenderApi"
) -> ApiModel:
    """The model of the API ``api``. ``resources`` maps logical ids to local names."""
    tpl = template()
    values = {
        name: str(spec.get("Default", "")) for name, spec in tpl.get("Parameters", {}).items()
    }
    values.update(parameters or {})
    resolver = Resolver(tpl, values, resources)
    api_props = resolver.resolve(tpl["Resources"][api]["Properties"])
    auth = api_props.get("Auth", {})
    default_authorizer = auth.get("DefaultAuthorizer")
    authorizers = {
        name: Authorizer(
            function=_logical_id_of(spec["FunctionArn"]),
            identity_headers=tuple(spec.get("Identity", {}).get("Headers", [])),
            ttl_seconds=int(spec.get("Identity", {}).get("ReauthorizeEvery", 300)),
        )
        for name, spec in auth.get("Authorizers", {}).items()
    }
    functions: dict[str, FunctionSpec] = {}
    routes: list[Route] = []
    queue_sources: list[QueueSource] = []
    shared = tpl.get("Globals", {}).get("Function", {})
    for name, resource in tpl["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resolver.resolve(with_globals(resource["Properties"], shared))
        functions[name] = FunctionSpec(
            name=name,
            code_dir=TEMPLATE_PATH.parent / props["CodeUri"],
            handler=props["Handler"],
            timeout=float(props.get("Timeout", 3)),
            environment={
                key: str(value)
                for key, value in props.get("Environment", {}).get("Variables", {}).items()
            },
        )
        for event in props.get("Events", {}).values():
            if event["Type"] == "SQS":
                queue_sources.append(_queue_source(name, event["Properties"]))
                continue
            if event["Type"] != "Api" or event["Properties"].get("RestApiId") != api:
                continue
            event_auth = event["Properties"].get("Auth", {})
            authorizer = event_auth.get("Authorizer", default_authorizer)
            routes.append(
                Route(
                    path=event["Properties"]["Path"],
                    method=event["Properties"]["Method"].upper(),
                    function=name,
                    authorizer=None if authorizer in (None, "NONE") else authorizer,
                    api_key_required=bool(
                        event_auth.get("ApiKeyRequired", auth.get("ApiKeyRequired", False))
                    ),
                )
            )
    responses = {
        name: GatewayResponse(
            status=int(spec["StatusCode"]),
            headers=dict(spec.get("ResponseParameters", {}).get("Headers", {})),
            body=spec.get("ResponseTemplates", {}).get("application/json", '{"message": null}'),
        )
        for name, spec in api_props.get("GatewayResponses", {}).items()
    }
    return ApiModel(
        stage=str(api_props.get("StageName", "prod")),
        binary_media_types=tuple(
            media.replace("~1", "/") for media in api_props.get("BinaryMediaTypes", [])
        ),
        routes=routes,
        authorizers=authorizers,
        responses=responses,
        functions=functions,
        api_key_source=str(api_props.get("ApiKeySourceType", "HEADER")),
        parameters=values,
        queue_sources=queue_sources,
    )


def _queue_source(function: str, properties: dict[str, Any]) -> QueueSource:
    """Lambda's defaults where the template says nothing: 10 a batch, no partial failures."""
    scaling = properties.get("ScalingConfig", {})
    return QueueSource(
        function=function,
        queue=_logical_id_of(properties["Queue"]),
        batch_size=int(properties.get("BatchSize", 10)),
        report_batch_item_failures="ReportBatchItemFailures"
        in properties.get("FunctionResponseTypes", []),
        maximum_concurrency=int(scaling.get("MaximumConcurrency", 1000)),
    )


def with_globals(own: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """A function's properties with the template's ``Globals`` merged in, as SAM merges them:
    maps key by key (the function's own win), lists the globals' first, anything else the
    function's own."""
    merged = dict(shared)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = with_globals(value, merged[key])
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def _logical_id_of(reference: Any) -> str:
    """The resource an ``!GetAtt X.Arn`` names (left unresolved on purpose)."""
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        attribute = reference["Fn::GetAtt"]
        return attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
    raise TemplateError(f"cannot tell which function {json.dumps(reference)} names")


class Resolver:
    """The intrinsic functions this template uses, resolved as CloudFormation would."""

    def __init__(
        self,
        tpl: dict[str, Any],
        parameters: dict[str, str],
        resources: dict[str, str],
        attributes: dict[str, str] | None = None,
    ) -> None:
        """``resources`` are what each ``!Ref`` of a resource is locally; ``attributes`` what
        each ``!GetAtt Resource.Attribute`` is (others stay as written: an ARN has no local
        meaning, and callers read the logical id from it)."""
        self.tpl = tpl
        self.parameters = parameters
        self.resources = resources
        self.attributes = attributes or {}

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic
        if isinstance(node, list):
            return [item for item in map(self.resolve, node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((name, argument),) = node.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            if name == "Fn::GetAtt":
                attribute = ".".join(argument) if isinstance(argument, list) else argument
                return self.attributes.get(attribute, node)
            if name == "Fn::Sub":
                return self._sub(argument)
            if name == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if name == "Fn::Split":
                delimiter, text = argument
                return str(self.resolve(text)).split(delimiter)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def condition(self, name: str) -> bool:
        return self._truth(self.tpl["Conditions"][name])

    def _truth(self, node: dict[str, Any]) -> bool:
        ((function, arguments),) = node.items()
        if function == "Fn::Equals":
            left, right = (str(self.resolve(argument)) for argument in arguments)
            return left == right
        if function == "Fn::Not":
            return not self._truth(arguments[0])
        if function == "Fn::Or":
            return any(self._truth(argument) for argument in arguments)
        if function == "Fn::And":
            return all(self._truth(argument) for argument in arguments)
        if function == "Condition":
            return self.condition(arguments)
        raise TemplateError(f"unsupported condition function {function}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]
        if name.startswith("AWS::"):
            return {"AWS::Region": "us-east-1", "AWS::StackName": "vegart-local"}.get(name, "")
        if name in self.tpl.get("Resources", {}):
            return name  # a resource with no local counterpart (a layer, a role): its id
        raise TemplateError(f"no local value for !Ref {name}")

    def _sub(self, argument: Any) -> str:
        text = argument if isinstance(argument, str) else argument[0]
        if not isinstance(argument, str):  # !Sub [text, {name: value}]: its own names first
            for name, value in argument[1].items():
                text = text.replace("${" + name + "}", str(self.resolve(value)))
        for name in {**self.parameters, **self.resources}:
            text = text.replace("${" + name + "}", str(self._ref(name)))
        for name, value in self.attributes.items():  # ${Resource.Attribute}
            text = text.replace("${" + name + "}", value)
        for name in ("AWS::StackName", "AWS::Region"):
            text = text.replace("${" + name + "}", str(self._ref(name)))
        return text


_NO_VALUE = object()
