"""The demo page in a real browser: headless Chromium, through Playwright, against the local stack.

The page is what a newcomer sees first at ``make run``'s address, and it is also the smallest
honest web front end: it posts JSON with ``x-api-key`` and reads the JPEG and the contract's
headers. These tests drive it as a person would, through its labels and buttons.

The stack is the session's (``conftest.py``: ``python -m local_stack``, as ``make run`` starts
it), so the page is exactly the one a newcomer opens, with the demo key filled in.

Chromium is Debian's (``/usr/bin/chromium``), not Playwright's download: CI installs it in
``.ci/run``. A missing browser fails these tests rather than skipping them, so that CI cannot
pass without running them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devkit.stack_process import RunningStack
from tests.helpers.readme import readme_block

CHROMIUM = Path("/usr/bin/chromium")
#: The closed network here refuses Chromium's background connections; these switch them off.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
#: Long enough for a render in the local stack on a slow CI machine.
TIMEOUT_MS = 20_000


def missing_chromium() -> str:
    return (
        f"{CHROMIUM} is missing: the demo page's browser tests need Debian's Chromium. "
        "Install it with `sudo apt-get install -y chromium` (.ci/run does this in CI)."
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(missing_chromium(), pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(stack: RunningStack, browser: Browser) -> Iterator[Page]:
    stack.mock.reset()
    context = browser.new_context(base_url=stack.url)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.goto("/")
    try:
        yield opened
    finally:
        context.close()
        stack.mock.reset()
    assert not problems, problems


def render(page: Page, prompt: str) -> None:
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Render").click()


def wait_until_done(page: Page) -> None:
    expect(page.locator("#render")).to_be_enabled()
    expect(page.locator("#render")).to_have_text("Render")


def test_chromium_is_installed() -> None:
    """A FAILED line of its own, not only set-up errors, when CI lacks the browser."""
    if not CHROMIUM.is_file():
        pytest.fail(missing_chromium(), pytrace=False)


def test_page_offers_the_demo_key_and_the_contract_defaults(
    stack: RunningStack, page: Page
) -> None:
    expect(page).to_have_title(re.compile("VegaRT"))
    expect(page.get_by_label("API key")).to_have_value(stack.api_key)
    expect(page.get_by_label("Steps")).to_have_value("4")
    expect(page.get_by_label("Seed")).to_have_value("-1")
    expect(page.get_by_label("Prompt")).to_be_empty()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#image")).to_be_hidden()


def test_render_shows_the_image_its_seed_and_a_miss_then_a_hit_with_that_seed(
    stack: RunningStack, page: Page
) -> None:
    prompt = "a lighthouse on a cliff at dawn, oil painting"
    stack.mock.enqueue({"delay_ms": 600})  # long enough to see the page while it waits
    with page.expect_request("**/v1/segmind-vega-rt-v1") as sent:
        render(page, prompt)
    assert sent.value.method == "POST"
    assert sent.value.headers["x-api-key"] == stack.api_key
    assert sent.value.headers["content-type"] == "application/json"
    assert sent.value.post_data_json == {
        "prompt": prompt,
        "num_inference_steps": 4,
        "seed": -1,
        "img_width": 1024,
        "img_height": 1024,
        "base64": False,
    }

    expect(page.locator("#render")).to_be_disabled()
    expect(page.locator("#status")).to_have_text(re.compile("Rendering"))
    wait_until_done(page)
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#image")).to_be_visible()
    assert page.locator("#image").evaluate("image => image.naturalWidth") == 1024
    assert page.locator("#image").evaluate("image => image.naturalHeight") == 1024
    assert page.locator("#image").get_attribute("src").startswith("blob:")
    expect(page.locator("#cache")).to_have_text("MISS")
    expect(page.locator("#seed-value")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#credits")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#elapsed")).to_have_text(re.compile(r"^\d+(\.\d+)? m?s$"))
    seed = page.locator("#seed-value").text_content()
    credits = page.locator("#credits").text_content()
    assert len(stack.mock.requests()) == 1

    page.get_by_role("button", name="Use this seed").click()
    expect(page.get_by_label("Seed")).to_have_value(seed)
    page.get_by_role("button", name="Render").click()
    wait_until_done(page)

    expect(page.locator("#cache")).to_have_text("HIT")
    expect(page.locator("#seed-value")).to_have_text(seed)
    expect(page.locator("#credits")).to_have_text(credits)  # a hit is free
    assert page.locator("#image").evaluate("image => image.naturalWidth") == 1024
    assert len(stack.mock.requests()) == 1  # the backend was not asked again


def test_a_bad_key_shows_the_401_and_its_message(stack: RunningStack, page: Page) -> None:
    page.get_by_label("API key").fill("vg_not-a-key")
    render(page, "a red bicycle")
    wait_until_done(page)

    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(page.locator("#error-status")).to_have_text("401 Unauthorized")
    expect(page.locator("#error-message")).to_have_text(
        re.compile(r"^Unauthorized\..*\. Check the API key\.$")
    )
    expect(page.locator("#image")).to_be_hidden()
    assert stack.mock.requests() == []


@pytest.mark.parametrize(
    "failure",
    [{"status": 500, "times": 10}, {"fault": "connection_reset", "times": 10}],
    ids=["status-500", "connection-reset"],
)
def test_a_backend_failure_shows_a_502(stack: RunningStack, page: Page, failure: dict) -> None:
    stack.mock.enqueue(failure)
    render(page, f"a storm over the sea ({failure})")
    wait_until_done(page)

    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-status")).to_have_text("502 Bad gateway")
    expect(page.locator("#error-message")).to_contain_text("render backend failed")
    expect(page.locator("#image")).to_be_hidden()
    assert stack.mock.requests(), "the gateway should have asked the backend"


def test_a_network_failure_says_the_gateway_is_unreachable(page: Page) -> None:
    page.route("**/v1/segmind-vega-rt-v1", lambda route: route.abort("connectionrefused"))
    render(page, "a quiet harbour")
    wait_until_done(page)

    expect(page.locator("#error-status")).to_have_text("Network error")
    expect(page.locator("#error-message")).to_contain_text("Could not reach the gateway")


def test_out_of_range_steps_are_refused_before_sending(stack: RunningStack, page: Page) -> None:
    page.get_by_label("Steps").fill("11")
    render(page, "a mountain lake")

    expect(page.locator("#error-message")).to_have_text(
        "Steps must be a whole number from 4 to 10."
    )
    expect(page.locator("#render")).to_be_enabled()
    assert stack.mock.requests() == []


def test_server_text_is_shown_as_text_never_as_markup(page: Page) -> None:
    markup = '<img src=x onerror="window.injected = 1">Bad things.'
    page.route(
        "**/v1/segmind-vega-rt-v1",
        lambda route: route.fulfill(
            status=400, content_type="application/json", body=json.dumps({"error": markup})
        ),
    )
    render(page, "a lantern")
    wait_until_done(page)

    expect(page.locator("#error-status")).to_have_text("400 Bad request")
    expect(page.locator("#error-message")).to_have_text(markup)
    assert page.locator("#error img").count() == 0
    assert page.evaluate("window.injected") is None


@pytest.mark.parametrize(
    ("status", "content_type", "body", "shown"),
    [
        (
            504,
            "application/json",
            "",
            "504 Gateway timeout: The render backend did not answer in time; try again.",
        ),
        (
            502,
            "text/html",
            "<html>Bad Gateway</html>",
            "502 Bad gateway: The render backend failed; try again.",
        ),
        (500, "text/plain", "upstream exploded", "500 Internal server error: upstream exploded."),
        (
            429,
            "application/json",
            '{"error": "Slow down"}',
            "429 Too many requests: Slow down. Retry after 3 s.",
        ),
    ],
    ids=["empty-504", "html-502", "text-500", "429-retry-after"],
)
def test_error_bodies_that_are_not_the_contracts_still_read_well(
    page: Page, status: int, content_type: str, body: str, shown: str
) -> None:
    page.route(
        "**/v1/segmind-vega-rt-v1",
        lambda route: route.fulfill(
            status=status, content_type=content_type, body=body, headers={"Retry-After": "3"}
        ),
    )
    render(page, "a paper boat")
    wait_until_done(page)

    title, message = shown.split(": ", 1)
    expect(page.locator("#error-status")).to_have_text(title)
    expect(page.locator("#error-message")).to_have_text(message)


# -- asynchronous (v2) -------------------------------------------------------------------------


def render_as_job(page: Page, prompt: str) -> None:
    page.get_by_label("Asynchronous (v2)").check()
    render(page, prompt)


def test_async_mode_submits_follows_the_job_and_loads_the_output_url(
    stack: RunningStack, page: Page
) -> None:
    stack.mock.enqueue({"delay_ms": 1500})  # long enough to see the job's status change
    prompt = "a lighthouse on a cliff at dawn, as a job"
    with page.expect_request("**/v2/segmind-vega-rt-v1") as sent:
        render_as_job(page, prompt)
    assert sent.value.method == "POST"
    assert sent.value.headers["x-api-key"] == stack.api_key
    assert sent.value.post_data_json["prompt"] == prompt
    expect(page.locator("#status")).to_have_text(re.compile(r"^(Queued|Rendering)\u2026 \(job "))
    expect(page.locator("#status")).to_have_text(re.compile(r"^Rendering\u2026 \(job "))
    wait_until_done(page)

    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#image")).to_be_visible()
    assert page.locator("#image").evaluate("image => image.naturalWidth") == 1024
    # Straight from its output URL: a presigned GET of the local S3, no key, no blob.
    assert page.locator("#image").get_attribute("src").startswith(stack.aws_url + "/")
    expect(page.locator("#cache")).to_have_text("MISS")
    expect(page.locator("#job")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    expect(page.locator("#credits")).to_be_hidden()  # a job's answer carries no balance
    seed = page.locator("#seed-value").text_content()

    page.get_by_role("button", name="Use this seed").click()
    page.get_by_role("button", name="Render").click()
    wait_until_done(page)
    expect(page.locator("#cache")).to_have_text("HIT")  # completed at once, from the cache
    expect(page.locator("#seed-value")).to_have_text(seed)
    assert len([e for e in stack.mock.requests() if e["method"] == "POST"]) == 1


def test_async_mode_shows_a_failed_jobs_message(stack: RunningStack, page: Page) -> None:
    stack.mock.enqueue({"status": 400})
    render_as_job(page, "a job the backend refuses")
    wait_until_done(page)
    expect(page.locator("#error-status")).to_have_text("Job failed")
    expect(page.locator("#error-message")).to_have_text("Invalid parameters or request format.")
    expect(page.locator("#image")).to_be_hidden()


def test_async_mode_shows_a_refused_submit(stack: RunningStack, page: Page) -> None:
    page.get_by_label("API key").fill("vg_not-a-key")
    render_as_job(page, "a job with a bad key")
    wait_until_done(page)
    expect(page.locator("#error-status")).to_have_text("401 Unauthorized")
    assert stack.mock.requests() == []


def test_the_readme_fetch_example_renders_as_a_job_in_a_browser(
    stack: RunningStack, page: Page
) -> None:
    code = readme_block("js", "async function renderAsync(")
    code = code.replace('"http://127.0.0.1:3000"', json.dumps(stack.url))
    code = code.replace('"vg_local-demo-key-not-a-secret-0000"', json.dumps(stack.api_key))
    result = page.evaluate(f"async () => {{ {code}\n return renderAsync('a README fox'); }}")
    assert result["status"] == "COMPLETED"
    assert result["output"].startswith(stack.aws_url + "/")
    catch = "try { await renderAsync(''); } catch (e) { return e.message; }"
    refused = page.evaluate(f"async () => {{ {code}\n {catch} }}")
    assert refused.startswith("prompt must not be empty")  # the gateway's 400, at submit
