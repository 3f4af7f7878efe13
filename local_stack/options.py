"""What ``make run`` may be told, and the mistakes it stops for before anything starts.

:class:`StackOptions` reads the variables the README documents (``VEGART_PORT``,
``VEGART_BACKEND``, ...); a wrong one is a :class:`StartupError` that names the variable to
change, and a port already in use is found before moto's server would wait on it for ever.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devkit.demo import DEMO_KEY
from devkit.lambda_instances import KillPlan
from vegart.keys import MIN_KEY_LENGTH

#: Fixed ports by default, so that ``local_stack/sam-env.json`` (sam local) can name them.
LOCAL_AWS_PORT = 4566


LOCAL_MOCK_PORT = 4010


#: Segmind's hosted model takes about this long; the demo should feel the same.
REALISTIC_RENDER_MS = 1700


BACKENDS = ("mock", "segmind", "sagemaker")


#: ``VEGART_WEBHOOK_POLICY``: loopback allowed (the default), or a deployment's own rules.
WEBHOOK_POLICIES = ("local", "deployed")


class StartupError(Exception):
    """The stack cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    aws_port: int = 0
    mock_port: int = 0
    render_delay_ms: int = REALISTIC_RENDER_MS
    api_key: str = DEMO_KEY
    backend: str = "mock"  # or "segmind", or "sagemaker"
    segmind_api_key: str = ""
    #: The model server (``sagemaker/local_server.py``) that stands for the endpoint.
    sagemaker_url: str = ""
    #: Where moto and the mock listen: 0.0.0.0 lets `sam local`'s containers reach them.
    services_host: str = "127.0.0.1"
    #: Template parameters other than their defaults (tests shorten JobDeadlineSeconds).
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: Invocations to kill on purpose, by function (crash tests, chaos runs).
    kills: Mapping[str, KillPlan] = field(default_factory=dict)
    #: Where webhooks may point: ``local`` lets loopback through (a receiver on this
    #: machine), ``deployed`` applies a deployment's policy (public addresses only, https).
    webhook_policy: str = "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> StackOptions:
        """The options ``make run`` documents: VEGART_PORT, VEGART_API_KEY, VEGART_BACKEND...

        :class:`StartupError` names the variable to change when one is wrong, before anything
        starts.
        """
        env = dict(os.environ if env is None else env)
        backend = env.get("VEGART_BACKEND", "").strip().lower() or "mock"
        if backend not in BACKENDS:
            raise StartupError(
                f"VEGART_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}"
            )
        segmind_key = env.get("SEGMIND_API_KEY", "").strip()
        if backend == "segmind" and not segmind_key:
            raise StartupError(
                "VEGART_BACKEND=segmind renders with the real Segmind: set SEGMIND_API_KEY to "
                "your Segmind key, or unset VEGART_BACKEND to render with the mock"
            )
        sagemaker_url = env.get("SAGEMAKER_LOCAL_URL", "").strip()
        if backend == "sagemaker" and not sagemaker_url.startswith(("http://", "https://")):
            raise StartupError(
                "VEGART_BACKEND=sagemaker needs SAGEMAKER_LOCAL_URL, the model server's URL "
                "(such as http://127.0.0.1:8080), or unset VEGART_BACKEND to render with the mock"
            )
        webhook_policy = env.get("VEGART_WEBHOOK_POLICY", "").strip().lower() or "local"
        if webhook_policy not in WEBHOOK_POLICIES:
            raise StartupError(
                f"VEGART_WEBHOOK_POLICY must be one of {', '.join(WEBHOOK_POLICIES)}, not "
                f"{webhook_policy!r}"
            )
        api_key = env.get("VEGART_API_KEY") or DEMO_KEY
        if len(api_key) < MIN_KEY_LENGTH or api_key != api_key.strip():
            raise StartupError(
                f"VEGART_API_KEY must be at least {MIN_KEY_LENGTH} characters without spaces "
                f"around it (it has {len(api_key)}); set a longer key, or unset it to use "
                "the demo key"
            )
        options: dict[str, Any] = {
            "port": _number(env, "VEGART_PORT", cls.port, 65535),
            "aws_port": _number(env, "VEGART_AWS_PORT", LOCAL_AWS_PORT, 65535),
            "mock_port": _number(env, "VEGART_MOCK_PORT", LOCAL_MOCK_PORT, 65535),
            "render_delay_ms": _number(env, "VEGART_RENDER_DELAY_MS", REALISTIC_RENDER_MS, 600_000),
            "api_key": api_key,
            "backend": backend,
            "sagemaker_url": sagemaker_url if backend == "sagemaker" else "",
            "segmind_api_key": segmind_key if backend == "segmind" else "",
            "services_host": env.get("VEGART_SERVICES_HOST", "127.0.0.1"),
            "webhook_policy": webhook_policy,
        }
        options.update(overrides)
        return cls(**options)


def _number(env: Mapping[str, str], name: str, default: int, highest: int) -> int:
    """A whole number from 0 to ``highest`` in ``env[name]``, else :class:`StartupError`."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > highest:
        raise StartupError(f"{name} must be a whole number from 0 to {highest}, not {text!r}")
    return int(text)


def ensure_free(host: str, port: int, variable: str) -> None:
    """:class:`StartupError` if something already listens on ``host:port`` (0 is always free)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise port_error(exc, host, port, variable) from None


def port_error(error: OSError, host: str, port: int, variable: str) -> StartupError:
    if error.errno == errno.EADDRINUSE:
        return StartupError(
            f"port {port} on {host} is already in use ({variable}); stop what uses it, or set "
            f"{variable} to a free port"
        )
    return StartupError(f"cannot listen on {host}:{port} ({variable}): {error.strerror}")
