"""The cost model (docs/cost.md): its arithmetic by hand, its inputs against the template, and
the document against what the committed inputs give."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import shutil
from pathlib import Path

import pytest

from costs import arithmetic
from costs import document as cost_doc
from costs import inputs as cost_inputs
from devkit.resources import template


@pytest.fixture(scope="module")
def inputs() -> cost_inputs.Inputs:
    return cost_inputs.load_inputs()


def test_lambda_bills_whole_milliseconds_and_the_request():
    # 512 MB for 110.2 ms is billed as 0.5 GB x 0.111 s.
    assert arithmetic.lambda_invocation_usd(512, 110.2, 1e-5, 2e-7) == pytest.approx(
        0.5 * 0.111 * 1e-5 + 2e-7
    )


def test_an_instance_hour_is_shared_by_the_images_rendered_in_it():
    # Two GPUs at 1 s an image, busy half the time: 3,600 images an hour.
    assert arithmetic.images_per_hour(1.0, 2, 0.5) == pytest.approx(3600)
    assert arithmetic.gpu_usd_per_image(1.44, 1.0, 2, 0.5) == pytest.approx(0.0004)
    # Idle time is paid for: a tenth of the use costs ten times as much an image.
    assert arithmetic.gpu_usd_per_image(1.44, 1.0, 2, 0.05) == pytest.approx(0.004)


def test_break_even_is_a_day_of_the_instance_over_the_saving_an_image():
    assert arithmetic.break_even_images_per_day(1.2, 0.002) == pytest.approx(14_400)
    assert arithmetic.break_even_images_per_day(1.2, 0.0) is None
    assert arithmetic.break_even_images_per_day(1.2, -0.001) is None


def test_vega_takes_the_anchor_less_the_unet_work_it_does_not_do():
    # A 200 ms anchor of which the UNet is 100 ms; a UNet a quarter the size saves 75 ms.
    assert arithmetic.vega_share_of_sdxl(200, 100, 1.0, 4.0) == pytest.approx(0.625)


def test_a_gpu_without_an_anchor_scales_by_compute_and_bandwidth_alike():
    reference = cost_inputs.Gpu("ref", 400, 1600, ("ref",), "")
    assert arithmetic.gpu_slowdown(reference, cost_inputs.Gpu("quarter", 100, 400, ("q",), "")) == 4
    # Four times the compute at the same bandwidth: twice as fast, not four times.
    assert (
        arithmetic.gpu_slowdown(reference, cost_inputs.Gpu("compute", 1600, 1600, ("c",), ""))
        == 0.5
    )


def test_storage_is_prorated_by_the_hour():
    # A GB kept 30 days of a 730-hour month.
    assert arithmetic.storage_usd(arithmetic.GB, 30, 0.023) == pytest.approx(0.023 * 720 / 730)


def _round_inputs(inputs: cost_inputs.Inputs) -> cost_inputs.Inputs:
    """The committed inputs with round numbers, for a bill worked out by hand."""
    unit = {
        "api_gateway_request": 1e-6,
        "lambda_request": 1e-7,
        "lambda_arm64_gb_second": 1e-5,
        "s3_get": 1e-7,
        "s3_put": 1e-6,
        "s3_gb_month": 0.03,
        "dynamodb_write_unit": 1e-6,
        "dynamodb_read_unit": 2e-7,
        "logs_ingested_gb": 0.5,
        "egress_gb": 0.1,
        "sagemaker_data_gb": 0.01,
        "segmind_render": 0.002,
    }
    prices = dataclasses.replace(
        inputs.prices, services={name: cost_inputs.Price(usd, "", "") for name, usd in unit.items()}
    )

    def est(value: float) -> cost_inputs.Estimate:
        return cost_inputs.Estimate(value, "")

    estimates = dataclasses.replace(
        inputs.estimates,
        s3_get_ms=est(20),
        s3_put_ms=est(30),
        dynamodb_ms=est(5),
        authorizer_own_ms=est(1),
        authorizer_calls_per_request=est(1),
        platform_log_bytes=est(0),
        jpeg_bytes=est(arithmetic.GB / 1000),
    )
    function = dataclasses.replace(
        inputs.function, hit_ms=0.5, log_bytes_hit=arithmetic.GB / 1e6, log_bytes_authorizer=0
    )
    deployment = dataclasses.replace(
        inputs.deployment, render_memory_mb=1024, authorizer_memory_mb=512, architecture="arm64"
    )
    return dataclasses.replace(
        inputs, prices=prices, estimates=estimates, function=function, deployment=deployment
    )


def test_a_hit_worked_out_by_hand(inputs: cost_inputs.Inputs):
    lines = {line.item: line.usd for line in arithmetic.hit_lines(_round_inputs(inputs))}
    by_hand = {
        "API Gateway request": 1e-6,
        # 512 MB for 1 + 5 ms and its request, half a read unit, no log.
        "key authorizer (Lambda, GetItem, logs)": 0.5 * 0.006 * 1e-5 + 1e-7 + 0.5 * 2e-7,
        # 1 GB for 0.5 + 20 (GET) + 5 (balance update) = 25.5 ms, billed 26.
        "render function": 1.0 * 0.026 * 1e-5 + 1e-7,
        "S3 requests": 1e-7,
        "S3 storage": 0.0,
        "DynamoDB writes": 1e-6,
        "CloudWatch Logs": 0.5e-6,
        "data transfer out (the JPEG)": 1e-4,
    }
    assert lines == pytest.approx(by_hand)
    assert arithmetic.total(arithmetic.hit_lines(_round_inputs(inputs))) == pytest.approx(1.0319e-4)


def test_a_segmind_render_waits_for_segmind_and_pays_its_price(inputs: cost_inputs.Inputs):
    round_inputs = _round_inputs(inputs)
    hit = {line.item: line.usd for line in arithmetic.hit_lines(round_inputs)}
    render = {line.item: line.usd for line in arithmetic.segmind_lines(round_inputs)}
    assert render["Segmind's price"] == 0.002
    assert render["DynamoDB writes"] == pytest.approx(3e-6)  # lease, debit, lease given back
    assert render["S3 requests"] == pytest.approx(1e-7 + 1e-6)
    assert render["S3 storage"] > 0
    wait_s = round_inputs.estimates.segmind_render_s.value
    assert render["render function"] - hit["render function"] == pytest.approx(
        (math.ceil(round_inputs.function.miss_ms + 20 + 30 + 15 + 1000 * wait_s) - 26) * 1e-8
    )


def test_the_document_is_what_the_committed_inputs_give(inputs: cost_inputs.Inputs):
    document = cost_doc.DOC_PATH.read_text()
    assert cost_doc.replace_generated(document, cost_doc.render_markdown(inputs)) == document, (
        "docs/cost.md is stale: run .venv/bin/python benchmarks/cost_model.py --write"
    )


def test_every_offered_instance_type_has_a_price_and_a_gpu(inputs: cost_inputs.Inputs):
    offered = template()["Parameters"]["SageMakerInstanceType"]["AllowedValues"]
    assert offered
    assert set(offered) <= set(inputs.prices.instances), "add the type to prices.json"
    assert set(offered) <= set(inputs.estimates.instance_gpus), "add it to estimates.json"
    for name in offered:
        assert inputs.estimates.instance_gpus[name].gpu in inputs.estimates.gpus
        assert inputs.prices.instances[name].usd_per_hour > 0


def test_the_price_table_names_its_date_and_sources(inputs: cost_inputs.Inputs):
    date = datetime.date.fromisoformat(inputs.prices.date)
    assert date <= datetime.date.today()
    assert inputs.prices.status
    assert all(price.source and price.usd > 0 for price in inputs.prices.services.values())
    assert f"as of {inputs.prices.date}" in cost_doc.DOC_PATH.read_text()


def test_every_gpu_row_says_whether_it_was_measured(inputs: cost_inputs.Inputs):
    for row in arithmetic.gpu_rows(inputs):
        assert row.render.measured or row.render.basis.startswith("estimate, not measured")


def _results_with(tmp_path: Path, name: str, figures: dict[str, object]) -> Path:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    shutil.copy(
        cost_inputs.RESULTS_DIR / cost_inputs.FUNCTION_RESULTS,
        results / cost_inputs.FUNCTION_RESULTS,
    )
    document = {"benchmark": "bench_gpu_render", "measured_on": "2026-12-01", "machine": "",
                "figures": figures}  # fmt: skip
    (results / name).write_text(json.dumps(document))
    return results


def _gpu_run(device: str, *, smoke: bool, compiled: bool, fp16_vae: bool, ms: float) -> dict:
    row = {"label": "a run", "compiled": compiled, "fp16_vae": fp16_vae, "median_ms": ms}
    return {"device": device, "smoke": smoke, "configurations": [row]}


def test_a_measured_gpu_figure_replaces_the_estimate(tmp_path: Path, inputs: cost_inputs.Inputs):
    deployed = inputs.deployment
    run = _gpu_run("NVIDIA A10G", smoke=False, compiled=deployed.compiled,
                   fp16_vae=deployed.fp16_vae, ms=800.0)  # fmt: skip
    results = _results_with(tmp_path, "gpu_render-a10g.json", run)
    measured = cost_inputs.load_inputs(results=results)
    row = arithmetic.gpu_row(measured, "ml.g5.xlarge")
    assert row.render == arithmetic.RenderTime(0.8, True, row.render.basis)
    assert "gpu_render-a10g.json" in row.render.basis
    # Every type with that GPU uses it; the others keep their estimates.
    assert arithmetic.gpu_row(measured, "ml.g5.12xlarge").render.seconds == 0.8
    assert not arithmetic.gpu_row(measured, "ml.g6.xlarge").render.measured
    assert "No GPU has been measured yet" not in cost_doc.render_markdown(measured)


@pytest.mark.parametrize(
    ("smoke", "other_configuration"), [(True, False), (False, True)], ids=["smoke", "not deployed"]
)
def test_a_gpu_run_unlike_the_deployed_server_is_not_used(
    tmp_path: Path, inputs: cost_inputs.Inputs, smoke: bool, other_configuration: bool
):
    deployed = inputs.deployment
    run = _gpu_run("NVIDIA A10G", smoke=smoke, compiled=deployed.compiled != other_configuration,
                   fp16_vae=deployed.fp16_vae, ms=800.0)  # fmt: skip
    results = _results_with(tmp_path, "gpu_render-a10g.json", run)
    assert not arithmetic.gpu_row(
        cost_inputs.load_inputs(results=results), "ml.g5.xlarge"
    ).render.measured


def test_the_deployment_is_read_from_the_template():
    loaded = {
        "Parameters": {
            "CacheExpiryDays": {"Default": 7},
            "AuthorizerCacheSeconds": {"Default": 60},
            "SageMakerInstanceType": {"Default": "ml.g6.xlarge", "AllowedValues": ["ml.g6.xlarge"]},
        },
        "Globals": {"Function": {"Architectures": ["x86_64"], "MemorySize": 1024}},
        "Resources": {
            "RenderFunction": {"Properties": {"MemorySize": 2048}},
            "AuthorizerFunction": {"Properties": {}},
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "PrimaryContainer": {
                        "Environment": {"VEGART_COMPILE": "max-autotune", "VEGART_FP16_VAE": "1"}
                    }
                },
            },
        },
    }
    deployment = cost_inputs.load_deployment(loaded)
    assert deployment == cost_inputs.Deployment(
        render_memory_mb=2048,
        authorizer_memory_mb=1024,
        architecture="x86_64",
        cache_expiry_days=7,
        authorizer_cache_seconds=60,
        instance_types=("ml.g6.xlarge",),
        default_instance_type="ml.g6.xlarge",
        fp16_vae=True,
        compiled=True,
    )


def test_an_endpoint_billed_all_day_keeps_at_least_one_instance(inputs: cost_inputs.Inputs):
    row = arithmetic.gpu_row(inputs, "ml.g5.xlarge")
    day = row.usd_per_hour * 24
    # At a tenth of one instance's capacity the whole instance is still paid for.
    volume = row.capacity_per_day / 10
    assert arithmetic.around_the_clock_per_thousand(row, volume) == pytest.approx(
        1000 * (day + volume * row.variable_per_image) / volume
    )
    # One image more than an instance holds needs a second one.
    over = row.capacity_per_day + 1
    assert arithmetic.around_the_clock_per_thousand(row, over) == pytest.approx(
        1000 * (2 * day + over * row.variable_per_image) / over
    )
