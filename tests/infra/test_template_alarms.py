"""The alarms, their topic and the dashboard, as CloudFormation makes them after the SAM
transform, checked against what the code emits: the metric names are read from the code, the
`service` dimensions from the functions' own settings, never from a second list.

Then the same alarms are created in moto's CloudWatch from the template's own definitions, as
the local stack creates the tables and queues, so that each is one PutMetricAlarm that AWS
accepts as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devkit.functions import ROOT
from devkit.moto import in_process_aws
from devkit.operations import create_alarms
from devkit.resources import LOCAL_DEPLOYMENT
from tests.helpers.template import resources_of_type

CODE = ROOT / "layers" / "shared" / "vegart"
NAMESPACE = "VegaRT"
DEPLOYING = ROOT / "docs" / "deploying.md"


def emitted_metrics() -> set[str]:
    """Every metric name the gateway's code emits (``add_metric(name=...)``, and the queues'
    error metrics that the wiring names)."""
    names: set[str] = set()
    for path in CODE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'add_metric\(name="(\w+)"', text))
        names |= set(re.findall(r'error_metric="(\w+)"', text))
    return names


def services(translated: dict[str, Any]) -> set[str]:
    return {
        function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for function in resources_of_type(translated, "AWS::Lambda::Function").values()
    }


def alarms(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in resources_of_type(translated, "AWS::CloudWatch::Alarm").items()
    }


def metrics_of(alarm: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each metric an alarm reads: ``{"Namespace", "MetricName", "Dimensions"}``."""
    if "MetricName" in alarm:
        yield {key: alarm.get(key, []) for key in ("Namespace", "MetricName", "Dimensions")}
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            yield query["MetricStat"]["Metric"]


def dimension(metric: dict[str, Any], name: str) -> Any:
    (value,) = [d["Value"] for d in metric.get("Dimensions", []) if d["Name"] == name]
    return value


def test_the_code_emits_the_metrics_the_alarms_read() -> None:
    assert {"UpstreamAccountErrors", "LedgerErrors", "JobStoreErrors"} <= emitted_metrics()


def test_every_gateway_metric_alarmed_on_is_one_the_code_emits_from_a_real_function(
    translated: dict[str, Any],
) -> None:
    emitted, known = emitted_metrics(), services(translated)
    read = [m for alarm in alarms(translated).values() for m in metrics_of(alarm)]
    ours = [m for m in read if m["Namespace"] == NAMESPACE]
    assert ours
    for metric in ours:
        assert metric["MetricName"] in emitted, metric
        assert [d["Name"] for d in metric["Dimensions"]] == ["service"], metric
        assert dimension(metric, "service") in known, metric


def scaling_alarms(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The alarms that drive a scaling policy of the template's rather than tell a person."""
    policies = resources_of_type(translated, "AWS::ApplicationAutoScaling::ScalingPolicy")
    return {
        name: alarm
        for name, alarm in alarms(translated).items()
        if any(action.get("Ref") in policies for action in alarm["AlarmActions"])
    }


def test_every_alarm_notifies_the_topic_and_says_what_to_do_first(
    translated: dict[str, Any],
) -> None:
    paging = set(alarms(translated)) - set(scaling_alarms(translated))
    assert len(paging) >= 8
    for name in paging:
        alarm = alarms(translated)[name]
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert "First:" in alarm["AlarmDescription"], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        expressions = [q for q in alarm.get("Metrics", []) if "Expression" in q]
        if "Metrics" in alarm:  # one returned series: the expression the threshold applies to
            assert [q.get("ReturnData", True) for q in alarm["Metrics"]].count(True) == 1
            assert len(expressions) == 1, name


def test_errors_and_throttles_are_alarmed_for_every_function(translated: dict[str, Any]) -> None:
    functions = {
        json.dumps({"Ref": name}) for name in resources_of_type(translated, "AWS::Lambda::Function")
    }
    for metric_name in ("Errors", "Throttles"):
        watched = {
            json.dumps(dimension(metric, "FunctionName"))
            for alarm in alarms(translated).values()
            for metric in metrics_of(alarm)
            if metric["Namespace"] == "AWS/Lambda" and metric["MetricName"] == metric_name
        }
        assert watched == functions, metric_name


def test_every_dead_letter_queue_is_watched(translated: dict[str, Any]) -> None:
    targets = {
        queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in resources_of_type(translated, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }
    watched = {
        dimension(metric, "QueueName")["Fn::GetAtt"][0]
        for metric in metrics_of(alarms(translated)["DeadLettersAlarm"])
    }
    assert watched == targets == {"JobDeadLetterQueue", "WebhookDeadLetterQueue"}


def test_a_job_older_than_its_bound_is_an_alarm(translated: dict[str, Any]) -> None:
    alarm = alarms(translated)["StaleJobsAlarm"]
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert dimension(next(metrics_of(alarm)), "QueueName") == {
        "Fn::GetAtt": ["JobQueue", "QueueName"]
    }
    assert alarm["Threshold"] == {"Ref": "JobTimeoutSeconds"}


def test_the_api_alarms_name_the_stage_the_api_serves(translated: dict[str, Any]) -> None:
    alarm = alarms(translated)["Api5xxAlarm"]
    api = resources_of_type(translated, "AWS::ApiGateway::RestApi")["RenderApi"]["Properties"]
    assert dimension(alarm, "ApiName") == api["Name"]
    assert dimension(alarm, "Stage") == {"Ref": "StageName"}
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Average", 0.05)  # a rate of 5 %


#: The component's name, from its ARN (Ref), as every reader of its metrics takes it.
COMPONENT_NAME = {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "RenderComponent"}]}]}


def test_the_endpoint_alarms_exist_only_with_sagemaker(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    for name in ("RenderEndpointErrorsAlarm", "RenderEndpointLatencyAlarm"):
        assert sam_template["Resources"][name]["Condition"] == "UseSageMaker"
        # An endpoint of inference components reports invocations per component.
        alarm = sam_template["Resources"][name]["Properties"]
        assert dimension(alarm, "InferenceComponentName") == COMPONENT_NAME


def test_the_wake_alarm_starts_a_copy_and_pages_no_one(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    (name,) = scaling_alarms(translated)
    assert sam_template["Resources"][name]["Condition"] == "ScalesToZero"
    alarm = alarms(translated)[name]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SageMaker",
        "NoCapacityInvocationFailures",
    )
    assert dimension(alarm, "InferenceComponentName") == COMPONENT_NAME
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "RenderEndpointWakePolicy"}]
    assert "notifies no one" in alarm["AlarmDescription"]


def test_an_email_is_subscribed_only_when_given(sam_template: dict[str, Any]) -> None:
    assert sam_template["Parameters"]["AlarmEmail"]["Default"] == ""
    subscription = sam_template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    topic = sam_template["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"


def test_the_dashboard_is_json_and_reads_only_metrics_the_code_emits(
    sam_template: dict[str, Any],
) -> None:
    body, variables = sam_template["Resources"]["OperationsDashboard"]["Properties"][
        "DashboardBody"
    ]["Fn::Sub"]
    text = re.sub(r"\$\{[A-Za-z:]+\}", "x", body)
    widgets = json.loads(text)["widgets"]
    assert len(widgets) >= 6
    emitted = emitted_metrics()
    for widget in widgets:
        namespace = None
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):
                continue  # an expression
            namespace = namespace if row[0] == "." else row[0]
            if namespace == NAMESPACE and row[1] != ".":
                assert row[1] in emitted, row
    assert set(variables) >= {"Api", "JobQueueName", "Component"}


def test_deploying_md_says_what_each_alarm_means(translated: dict[str, Any]) -> None:
    text = DEPLOYING.read_text(encoding="utf-8")
    section = text.split("## Alarms", 1)[1].split("\n## ", 1)[0]
    for name in alarms(translated):
        assert f"`{name}`" in section, name


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with in_process_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


ENDPOINT_ALARMS = {"RenderEndpointErrorsAlarm", "RenderEndpointLatencyAlarm"}
SCALES_TO_ZERO = {"Backend": "sagemaker", "SageMakerMinCopies": "0", "SageMakerMaxCopies": "2"}


@pytest.mark.parametrize(
    ("parameters", "left_out"),
    [
        ({"Backend": "segmind"}, {*ENDPOINT_ALARMS, "RenderEndpointWakeAlarm"}),
        ({"Backend": "sagemaker"}, {"RenderEndpointWakeAlarm"}),
        (SCALES_TO_ZERO, set()),
    ],
    ids=["segmind", "sagemaker", "sagemaker-to-zero"],
)
def test_the_alarms_are_created_from_the_templates_definitions(
    cloudwatch: Any, translated: dict[str, Any], parameters: dict[str, str], left_out: set[str]
) -> None:
    made = create_alarms(LOCAL_DEPLOYMENT, parameters=parameters)
    described = {
        alarm["AlarmName"]: alarm for alarm in cloudwatch.describe_alarms()["MetricAlarms"]
    }
    expected = set(alarms(translated)) - left_out
    assert set(made) == expected
    assert set(described) == {made[name] for name in expected}
    stale = described[made["StaleJobsAlarm"]]
    assert stale["Threshold"] == 900.0
    assert stale["Dimensions"] == [{"Name": "QueueName", "Value": LOCAL_DEPLOYMENT.job_queue}]
    upstream = described[made["UpstreamAccountAlarm"]]
    assert {q["Id"] for q in upstream["Metrics"]} == {"total", "render", "worker"}
    if "RenderEndpointWakeAlarm" in made:  # the component's name, taken from its ARN
        wake = described[made["RenderEndpointWakeAlarm"]]
        assert wake["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "vegart-local"}]
        assert wake["AlarmActions"][0].endswith(":policyName/vegart-local-render-wake")
