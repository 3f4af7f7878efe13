"""The README's pytest example for test authors runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_passes() -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    namespace: dict = {}
    exec(compile(example, str(README), "exec"), namespace)
    # Drive the fixtures by hand, as pytest would: session server, per-test reset, the test.
    server_fixture = namespace["segmind_server"].__wrapped__()
    server = next(server_fixture)
    try:
        namespace["test_client_retries_rate_limits"](namespace["segmind"].__wrapped__(server))
    finally:
        server_fixture.close()
    with pytest.raises(requests.ConnectionError):  # the context manager stopped it
        requests.get(f"{server.url}/__admin/health", timeout=30)
