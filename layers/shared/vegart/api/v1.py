"""v1's render: ``POST /v1/segmind-vega-rt-v1``, from an event to the contract's answers.

The function's ``app.py`` only wires these into Powertools' resolver, with the settings and
the render service it built; everything that decides a status, a header or a body lives here
and in :mod:`vegart.api.rest`, where it is tested without a Lambda runtime.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from vegart.api.rest import caller, raw_body, request_deadline, request_id
from vegart.config import Settings
from vegart.contract import parse_render_request
from vegart.observability import logger
from vegart.render.service import RenderResult, RenderService
from vegart.render.spec import prompt_fingerprint


def answer_render(
    event: APIGatewayProxyEvent, context: Any, *, config: Settings, service: RenderService
) -> Response[Any]:
    """``POST /v1/segmind-vega-rt-v1``: validate, render or hit the cache, answer."""
    req_id = request_id(event)
    account = caller(event)
    request = parse_render_request(raw_body(event))
    prompt: dict[str, Any] = {
        "prompt_sha256": prompt_fingerprint(request.prompt)[:16],
        "prompt_length": len(request.prompt),
    }
    if config.log_prompts:
        prompt["prompt"] = request.prompt
    logger.append_keys(key_id=account, steps=request.num_inference_steps, **prompt)
    result = service.image_for(request, request_deadline(context, config), req_id, account)
    logger.info(
        "Rendered", extra={"cache": "HIT" if result.cache_hit else "MISS", "seed": result.seed}
    )
    return image_response(result, base64_body=request.base64, req_id=req_id)


def image_response(result: RenderResult, *, base64_body: bool, req_id: str) -> Response[Any]:
    """The 200 in either of the contract's two shapes, with its headers."""
    headers = {
        "x-seed-value": str(result.seed),
        "x-request-id": req_id,
        "x-cache": "HIT" if result.cache_hit else "MISS",
        # One validator per representation: the JSON answer's bytes are not the JPEG's.
        "ETag": result.etag_of("json" if base64_body else "jpeg"),
    }
    if result.remaining_credits is not None:
        headers["x-remaining-credits"] = str(result.remaining_credits)
    if base64_body:
        body = json.dumps({"image": base64.b64encode(result.image).decode(), "seed": result.seed})
        return Response(200, "application/json", body, headers)
    return Response(200, "image/jpeg", result.image, headers)
