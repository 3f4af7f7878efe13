"""Serve the model on a workstation, as a SageMaker container would: no AWS, no Docker.

    python sagemaker/local_server.py --model-dir DIR [--host 127.0.0.1] [--port 8080]

``DIR`` is an unpacked ``model.tar.gz`` (or any folder of the same layout; see
``code/inference.py``). The server answers SageMaker's container contract:

- ``GET /ping``: 200 ``{"status": "Healthy"}`` once the model has loaded (it loads first).
- ``POST /invocations``: the body goes through the same ``input_fn`` -> ``predict_fn`` ->
  ``output_fn`` hooks as in the Hugging Face toolkit, with the toolkit's header handling: a
  missing or ``*/*`` Accept means ``application/json``, and the answer's Content-Type is the
  Accept. Errors come back in the model server's shape ``{"code", "type", "message"}``:
  400 for a :class:`BadRequest` (its message starts with ``bad_request: ``), 413 for a body
  over SageMaker's 6 MiB, 500 for anything else. (SageMaker's toolkit answers 400 for every
  exception; the prefix is what tells the two apart there.)

Standard library only, besides the hooks. It is run by path, not as ``-m sagemaker...``:
this folder is not a package, so that it never shadows the ``sagemaker`` SDK.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: SageMaker's real-time invocation limit for a request body.
MAX_REQUEST_BYTES = 6 * 2**20
JSON = "application/json"
#: Bodies of these types the toolkit hands to input_fn as text, all others as bytes.
UTF8_TYPES = ("application/json", "text/csv")

logger = logging.getLogger("vegart.local_server")


def use_code_dir(model_dir: Path) -> Any:
    """Import ``inference`` as the container does: from ``<model dir>/code`` when the model
    directory brings its code, else from this repository's ``sagemaker/code``."""
    code_dir = model_dir / "code" if (model_dir / "code" / "inference.py").is_file() else None
    code_dir = code_dir or HERE / "code"
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    import inference  # noqa: PLC0415 (only importable once its folder is on the path)

    return inference


class InvocationHandler(BaseHTTPRequestHandler):
    """``/ping`` and ``/invocations`` over the hooks of ``inference``; one model, shared."""

    server_version = "VegaRTLocal/1"
    protocol_version = "HTTP/1.1"
    hooks: Any = None
    model: Any = None

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/ping":
            self._send(HTTPStatus.OK, JSON, json.dumps({"status": "Healthy"}).encode())
        else:
            self._error(HTTPStatus.NOT_FOUND, "NotFound", f"no route {self.path}")

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        # /invocations is the container's own route; /endpoints/<name>/invocations is the
        # SageMaker runtime API's, so that boto3 (the gateway's SageMaker backend, with
        # AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) can call this server as if it were an endpoint.
        self.as_runtime_api = path.startswith("/endpoints/") and path.endswith("/invocations")
        if path != "/invocations" and not self.as_runtime_api:
            self._error(HTTPStatus.NOT_FOUND, "NotFound", f"no route {self.path}")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True  # the body is left unread
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge", "over 6 MiB")
            return
        body: bytes | str = self.rfile.read(length)
        content_type = (self.headers.get("Content-Type") or JSON).strip()
        accept = (self.headers.get("Accept") or "").strip()
        if not accept or accept == "*/*":
            accept = JSON
        try:
            if content_type in UTF8_TYPES:
                body = body.decode("utf-8")
            data = self.hooks.input_fn(body, content_type)
            prediction = self.hooks.predict_fn(data, self.model)
            answer = self.hooks.output_fn(prediction, accept)
        except self.hooks.BadRequest as exc:
            self._error(HTTPStatus.BAD_REQUEST, "BadRequest", str(exc))
        except UnicodeDecodeError as exc:
            self._error(HTTPStatus.BAD_REQUEST, "BadRequest", f"body is not UTF-8: {exc}")
        except Exception as exc:
            logger.exception("invocation failed")
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalServerException", str(exc))
        else:
            self._send(HTTPStatus.OK, accept, answer)

    def _error(self, status: HTTPStatus, kind: str, message: str) -> None:
        body = {"code": int(status), "type": kind, "message": message}
        if getattr(self, "as_runtime_api", False):
            # What the runtime API answers when the container fails: a ModelError (424) that
            # carries the container's own status and body.
            wrapped = {
                "Message": f"Received client error ({int(status)}) from the model",
                "OriginalStatusCode": int(status),
                "OriginalMessage": json.dumps(body),
            }
            self._send(
                HTTPStatus.FAILED_DEPENDENCY,
                JSON,
                json.dumps(wrapped).encode(),
                {"x-amzn-ErrorType": "ModelError"},
            )
            return
        self._send(status, JSON, json.dumps(body).encode())

    def _send(
        self,
        status: HTTPStatus,
        content_type: str,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def make_server(hooks: Any, model: Any, host: str = "127.0.0.1", port: int = 8080) -> Any:
    """A threaded server (``/ping`` answers during a render) over a loaded model.

    ``hooks`` is the ``inference`` module; renders are serialised by the model's own lock.
    """
    handler = type("BoundInvocationHandler", (InvocationHandler,), {"hooks": hooks, "model": model})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve VegaRT as a SageMaker container would.")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside a container")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    hooks = use_code_dir(args.model_dir.resolve())
    logger.info("loading %s (VEGART_* settings from the environment)", args.model_dir)
    model = hooks.model_fn(str(args.model_dir.resolve()))
    server = make_server(hooks, model, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"VegaRT model server on http://{host}:{port} (/ping, /invocations)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
