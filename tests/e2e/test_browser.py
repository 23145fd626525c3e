"""The scan page and GraphiQL in a real headless Chromium (Debian's package), driven by Playwright.

Skipped, with the reason, where Chromium or Playwright is missing (./test.sh says so loudly);
GraphiQL's test also needs its assets in .foodai/graphiql (scripts/fetch-graphiql.sh). .ci/run
provides all three. The phone tests take screenshots; with FOODAI_SCREENSHOTS=docs/img they land
where the docs show them (a plain run keeps the working tree clean and writes them to the temp folder).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from app.pages import graphiql_html
from app.settings import Settings
from tests.conftest import make_settings
from tests.support import ROOT, SUBMIT_RECEIPT, Api, User, b64, new_user, serving

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is missing: pip install -e '.[dev]'")
CHROMIUM = os.environ.get("FOODAI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("no Chromium: apt-get install chromium chromium-driver (.ci/run does)", allow_module_level=True)
ASSETS = ROOT / ".foodai" / "graphiql"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONES = [(360, 780), (390, 844)]
SCREENSHOTS = Path(os.environ["FOODAI_SCREENSHOTS"]) if os.environ.get("FOODAI_SCREENSHOTS") else None
expect = playwright_api.expect
expect.set_options(timeout=30_000)  # a job's DONE on a busy CI machine


@dataclass
class Stack:
    api: Api
    settings: Settings
    dev_user: User


@pytest.fixture(scope="module")
async def stack(database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[Stack]:
    """An API in development mode (dev token prefilled, GraphiQL from local assets) and its worker."""
    logs = tmp_path_factory.mktemp("browser")
    base = make_settings(database_url, kafka_bootstrap)
    dev_user = new_user(base)
    settings = make_settings(database_url, kafka_bootstrap, app_env="development", dev_token=dev_user.token,
                             graphiql_assets_dir=str(ASSETS), kafka_topic_paid=base.kafka_topic_paid,
                             kafka_topic_free=base.kafka_topic_free, kafka_group_id=base.kafka_group_id)
    async with serving(settings, logs, "browser-api", worker=True) as served:
        yield Stack(served.api, settings, dev_user)


@pytest.fixture
def viewport() -> dict[str, Any]:
    """The desktop window; phone tests override it with a touch screen."""
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
async def page(tmp_path: Path, viewport: dict[str, Any]) -> AsyncIterator[Any]:
    """A page in a fresh Chromium profile; JavaScript errors fail the test."""
    errors: list[str] = []
    async with playwright_api.async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **viewport
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
        finally:
            await context.close()
    assert errors == []


def receipt_png(lines: list[tuple[str, float]], items: str) -> bytes:
    """A drawn receipt; the fake recognizer reads the `items` script riding after the image data."""
    image = Image.new("RGB", (360, 60 + 28 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, (name, price) in enumerate(lines):
        draw.text((20, 30 + 28 * i), name, fill="black")
        draw.text((290, 30 + 28 * i), f"{price:.2f}", fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue() + f"FOODAI-ITEMS:{items}\n".encode()


async def test_the_scan_page_submits_a_receipt_shows_its_items_and_confirms_them(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    await page.goto(stack.api.base_url + "/scan")
    await expect(page.locator("#who")).to_contain_text("dev token")  # prefilled in development mode

    user = new_user(stack.settings)  # a token pasted by hand replaces the dev token
    await page.click("#token-toggle")
    await page.fill("#token-input", user.token)
    await page.click("#token-save")
    await expect(page.locator("#who")).to_have_text(f"user {str(user.id)[:8]}… · free plan")
    await expect(page.locator("#history-empty")).to_be_visible()

    photo = tmp_path / "receipt.png"
    photo.write_bytes(receipt_png([("MILK 1L", 1.19), ("BREAD", 2.10)], "MILK 1L*1*l*1.19;BREAD*1*pcs*2.10"))
    await page.set_input_files("#file-input", str(photo))
    await expect(page.locator("#thumbs li")).to_have_count(1)
    await page.click("#submit")

    await expect(page.locator("#job-status")).to_have_text("DONE")
    await expect(page.locator("#image-states li")).to_have_text(re.compile(r"Photo 1\s*2 items"))
    rows = page.locator("#items tbody tr")
    await expect(rows).to_have_count(2)
    read = [(await rows.nth(i).get_attribute("data-raw"), await rows.nth(i).locator(".qty").input_value(),
             await rows.nth(i).locator(".unit").input_value(), await rows.nth(i).locator(".price").input_value())
            for i in range(2)]
    assert sorted(read) == [("BREAD", "1", "pcs", "2.10"), ("MILK 1L", "1", "l", "1.19")]
    await expect(page.locator("#photo img")).to_be_visible()
    await expect(page.locator("#history-list li")).to_have_count(1)
    await expect(page.locator("#history-list li .pill")).to_have_text("DONE")

    await page.locator('#items tbody tr[data-raw="MILK 1L"] .name').fill("Oat milk")
    await page.click("#confirm")
    await expect(page.locator("#confirmed")).to_contain_text("Confirmed")
    job_id = await page.locator("#result").get_attribute("data-job")
    stored = await stack.api.gql("query($id: ID!) { productJob(id: $id) { confirmedItems { name rawText } } }",
                                 {"id": job_id}, user=user)
    assert sorted((i["rawText"], i["name"]) for i in stored["data"]["productJob"]["confirmedItems"]) == [
        ("BREAD", "Bread"), ("MILK 1L", "Oat milk")]


async def test_history_loads_more_pages(stack: Stack, page: Any) -> None:
    user = new_user(stack.settings)
    for _ in range(12):
        body = await stack.api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(receipt_png([], "EGGS*1*pcs*1"))}]},
                                   user=user)
        assert "errors" not in body, body
    await page.goto(stack.api.base_url + "/scan")
    await page.click("#token-toggle")
    await page.fill("#token-input", user.token)
    await page.click("#token-save")
    await expect(page.locator("#history-list li")).to_have_count(10)
    await page.click("#load-more")
    await expect(page.locator("#history-list li")).to_have_count(12)
    await expect(page.locator("#load-more")).to_be_hidden()


@pytest.mark.skipif(not (ASSETS / "graphiql.min.js").exists(),
                    reason="GraphiQL assets missing: run scripts/fetch-graphiql.sh (.ci/run does)")
async def test_graphiql_from_local_assets_runs_a_mutation_and_a_subscription(
    stack: Stack, page: Any, tmp_path: Path
) -> None:
    gate = tmp_path / f"gate-{uuid.uuid4().hex}"
    image = b64(receipt_png([], "BREAD*1*pcs*2.10") + f"FOODAI-GATE:{gate}\n".encode())
    mutation = 'mutation { submitReceipt(images: [{base64: "' + image + '"}]) { id status } }'
    await page.goto(stack.api.base_url + "/graphql?q=" + urllib.parse.quote(mutation))
    await page.click(".graphiql-execute-button")
    response = page.locator(".graphiql-response")
    await expect(response).to_contain_text('"status": "PENDING"')
    match = re.search(r'"id": "([0-9a-f-]{36})"', await response.inner_text())
    assert match, await response.inner_text()

    subscription = 'subscription { productJob(id: "' + match[1] + '") { status imagesDone } }'
    await page.goto(stack.api.base_url + "/graphql?q=" + urllib.parse.quote(subscription))
    await page.click(".graphiql-execute-button")
    await expect(response).to_contain_text('"status": "PROCESSING"')  # held at the gate: the socket is live
    gate.touch()
    await expect(response).to_contain_text('"status": "DONE"')
    await expect(response).to_contain_text('"imagesDone": 1')


def phone(width: int, height: int) -> dict[str, Any]:
    return {"viewport": {"width": width, "height": height}, "is_mobile": True, "has_touch": True,
            "device_scale_factor": 2}


async def overflow(page: Any, width: int) -> dict[str, Any]:
    """How far the page is wider than the screen, and the visible elements that stick out on the right."""
    return dict(await page.evaluate("""(width) => ({
        px: document.documentElement.scrollWidth - Math.min(width, window.innerWidth),
        cut: [...document.querySelectorAll("body *")].filter((e) => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && r.height > 0 && r.right > width + 0.5 && getComputedStyle(e).visibility !== "hidden";
        }).map((e) => e.id || e.className || e.tagName),
    })""", width))


@pytest.mark.parametrize("viewport", [phone(*size) for size in PHONES], ids=[f"{w}x{h}" for w, h in PHONES])
async def test_on_a_phone_nothing_overflows_and_a_scan_completes(
    stack: Stack, page: Any, viewport: dict[str, Any], tmp_path: Path
) -> None:
    width = viewport["viewport"]["width"]
    await page.goto(stack.api.base_url + "/scan")
    await expect(page.locator("#who")).to_contain_text("dev token")
    assert await overflow(page, width) == {"px": 0, "cut": []}
    await expect(page.locator("label.camera")).to_be_visible()  # the camera, offered first on a phone
    assert await page.get_attribute("#camera-input", "capture") == "environment"
    submit_box = await page.locator("#submit").bounding_box()
    assert submit_box["height"] >= 44 and submit_box["x"] + submit_box["width"] <= width

    photo = tmp_path / "receipt.png"
    photo.write_bytes(receipt_png([("MILK 1L", 1.19), ("BREAD", 2.10)], "MILK 1L*1*l*1.19;BREAD*1*pcs*2.10"))
    await page.set_input_files("#file-input", str(photo))
    await expect(page.locator("#thumbs li")).to_have_count(1)
    await page.tap("#submit")
    await expect(page.locator("#job-status")).to_have_text("DONE")
    await expect(page.locator("#items tbody tr")).to_have_count(2)
    assert await overflow(page, width) == {"px": 0, "cut": []}
    await page.locator("#result").scroll_into_view_if_needed()
    await page.wait_for_timeout(500)  # the progress bar's transition, for the screenshot
    await page.screenshot(path=str((SCREENSHOTS or tmp_path) / f"scan-phone-{width}.png"))
    await page.tap("#confirm")
    await expect(page.locator("#confirmed")).to_contain_text("Confirmed")


async def test_the_manifest_and_its_icons_are_served(stack: Stack) -> None:
    manifest = (await stack.api.client.get(stack.api.base_url + "/static/manifest.json")).json()
    assert manifest["start_url"] == "/scan" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert (await stack.api.client.get(stack.api.base_url + icon["src"])).status_code == 200, icon


@pytest.mark.parametrize("viewport", [phone(390, 844)], ids=["390x844"])
async def test_why_nothing_was_found_is_shown_for_each_photo(stack: Stack, page: Any, tmp_path: Path) -> None:
    empty, unreadable = tmp_path / "empty.png", tmp_path / "unreadable.png"
    empty.write_bytes(receipt_png([("THANK YOU", 0.0)], "") + b"FOODAI-EMPTY")
    unreadable.write_bytes(receipt_png([], "") + b"FOODAI-FAIL")
    await page.goto(stack.api.base_url + "/scan")
    await page.set_input_files("#file-input", [str(empty), str(unreadable)])
    await expect(page.locator("#thumbs li")).to_have_count(2)
    await page.tap("#submit")
    await expect(page.locator("#job-status")).to_have_text(re.compile("DONE|FAILED"))
    await expect(page.locator("#empty-items")).to_be_visible()
    notes = page.locator("#notes li")
    await expect(notes).to_have_text(["Photo 1: no items found in this image",
                                      "Photo 2: the image could not be read (scripted failure)"])
    await expect(page.locator('#image-states li[data-index="0"] .why')).to_have_text("no items found in this image")
    assert await overflow(page, 390) == {"px": 0, "cut": []}
    await page.locator("#result").scroll_into_view_if_needed()
    await page.wait_for_timeout(500)  # the progress bar's transition, for the screenshot
    await page.screenshot(path=str((SCREENSHOTS or tmp_path) / "scan-phone-notes.png"))


async def test_a_total_that_the_items_do_not_add_up_to_is_flagged(stack: Stack, page: Any, tmp_path: Path) -> None:
    photo = tmp_path / "receipt.png"
    photo.write_bytes(receipt_png([("MILK 1L", 1.19), ("BREAD", 2.10)], "MILK 1L*1*l*1.19;BREAD*1*pcs*2.10"))
    await page.goto(stack.api.base_url + "/scan")
    await page.set_input_files("#file-input", str(photo))
    await page.click("#submit")
    await expect(page.locator("#job-status")).to_have_text("DONE")
    job_id = await page.locator("#result").get_attribute("data-job")

    async def printed_total(route: Any) -> None:  # the fake recognizer reads no header: give the job one
        response = await route.fetch()
        body = await response.json()
        if "query Job(" in (route.request.post_data or ""):
            body["data"]["productJob"]["result"]["receipt"] = {
                "merchant": "FRESH MARKET", "purchasedAt": None, "currency": "EUR", "total": 9.99,
                "totalMatches": False}
        await route.fulfill(response=response, json=body)

    await page.route("**/graphql", printed_total)
    await page.reload()
    await page.click(f'#history-list li[data-job="{job_id}"]')
    check = page.locator("#total-check")
    await expect(check).to_have_attribute("data-state", "mismatch")
    await expect(check).to_contain_text(
        "The printed total 9.99 does not match the items: 2 priced items add up to 3.29")


async def test_large_photos_are_scaled_to_2000_px_before_upload(stack: Stack, page: Any, tmp_path: Path) -> None:
    photo = tmp_path / "big.png"
    Image.effect_noise((3000, 1200), 40).convert("RGB").save(photo)
    small = tmp_path / "small.png"
    small.write_bytes(receipt_png([("BREAD", 2.10)], "BREAD*1*pcs*2.10"))
    await page.goto(stack.api.base_url + "/scan")
    await page.set_input_files("#file-input", [str(photo), str(small)])
    thumbs = page.locator("#thumbs li")
    await expect(thumbs).to_have_count(2)
    assert await thumbs.nth(0).get_attribute("data-size") == "3000\u00d71200 \u2192 2000\u00d7800"
    assert int(await thumbs.nth(0).get_attribute("data-bytes")) < photo.stat().st_size
    assert await thumbs.nth(1).get_attribute("data-bytes") == str(small.stat().st_size)  # sent as it is


async def test_graphiql_without_its_scripts_says_how_to_get_them(stack: Stack, page: Any) -> None:
    offline = stack.settings.model_copy(update={"graphiql_assets_dir": None, "data_dir": Path("/nonexistent")})
    await page.route("https://unpkg.com/**", lambda route: route.abort("internetdisconnected"))
    await page.route("**/graphiql-offline", lambda route: route.fulfill(content_type="text/html",
                                                                       body=graphiql_html(offline)))
    await page.goto(stack.api.base_url + "/graphiql-offline")
    await expect(page.locator("#graphiql-offline")).to_contain_text("scripts/fetch-graphiql.sh")
    await expect(page.locator("#offline-why")).to_contain_text("CDN")
