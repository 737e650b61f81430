"""A technician with the app at /tech/ on a phone (Pixel 7 profile), in Chromium, against the real services: a
whole job with and without signal, a command the server refuses on replay, and the app installed and opened
offline."""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from shared.auth import Role
from tests.browser.conftest import ARTEFACTS, screenshot
from tests.browser.test_console import _customer_with_a_covered_site, _file_emergency, _technician
from tests.conftest import Keys
from tests.support.infra import Stack

pytestmark = pytest.mark.browser

SITE = (44.499, 34.16)  # the covered site of _customer_with_a_covered_site (Yalta)
# Playwright's "Pixel 7" descriptor (playwright.devices), written out: the package's browser fixture does not hand
# the Playwright object over
PIXEL_7: dict[str, Any] = {
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.33 Mobile Safari/537.36",
    "viewport": {"width": 412, "height": 839},
    "screen": {"width": 412, "height": 915},
    "device_scale_factor": 2.625,
    "is_mobile": True,
    "has_touch": True,
}


def sql(database_url: str, query: str, *args: object) -> list[dict[str, Any]]:
    """One query on the stack's database, from a thread of its own (Playwright's sync API holds this one's loop)."""
    rows: list[dict[str, Any]] = []

    async def fetch() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            rows.extend(dict(r) for r in await conn.fetch(query, *args))
        finally:
            await conn.close()

    worker = threading.Thread(target=lambda: asyncio.run(fetch()))
    worker.start()
    worker.join()
    return rows


class Field:
    """The company's customer with a covered site; technicians added per test, signed in as demo users."""

    def __init__(self, stack: Stack, keys: Keys, demo_file: Path, database_url: str) -> None:
        self.stack, self.keys, self.demo_file, self.database_url = stack, keys, demo_file, database_url
        self.customer_id, self.site_id = _customer_with_a_covered_site(stack, keys)
        self.technicians: dict[str, str] = {}
        self.serial = f"SN-{uuid.uuid4().hex[:8]}"
        with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
            unit = contracts.post(
                f"/sites/{self.site_id}/equipment",
                json={"equipment_type": "cold_room", "model": "Polair KXH-10", "serial": self.serial},
            )
            assert unit.status_code == 201, unit.text

    def technician(self) -> tuple[str, str]:
        """(technician id, demo user name) of a new refrigeration technician beside the site."""
        name = f"Tech{uuid.uuid4().hex[:6]} Koval"
        technician_id = _technician(self.stack, self.keys, name, SITE[0] + 0.001, SITE[1], {"refrigeration": 3})
        self.technicians[name] = technician_id
        # the gateway's development sign-in lists the demo users of this file
        self.demo_file.write_text(json.dumps({"customer_id": self.customer_id, "technician_ids": self.technicians}))
        return technician_id, name

    def dispatcher(self) -> httpx.Client:
        return httpx.Client(base_url=self.stack.url("dispatch"), headers=self.keys.headers(Role.DISPATCHER))

    def job_for(self, technician_id: str, description: str) -> tuple[str, str]:
        """(request id, assignment id) of a new emergency at the site, offered to the technician (the placement
        may pick someone else of the suite's technicians: the dispatcher then gives it to this one)."""
        request_id = _file_emergency(self.stack, self.keys, self.customer_id, self.site_id, description)
        with self.dispatcher() as dispatch:
            for _ in range(100):
                rows = sql(
                    self.database_url,
                    "SELECT id::text, technician_id::text AS tech FROM dispatch.assignments "
                    "WHERE request_id = $1 AND status IN ('offered', 'accepted')",
                    uuid.UUID(request_id),
                )
                if rows:
                    break
                threading.Event().wait(0.1)  # the emergency consumer places it within a moment
            # unplaced so far: booked by hand, once dispatch knows the job (a loaded machine consumes the filing late)
            for _ in range(600):
                if rows or sql(
                    self.database_url, "SELECT 1 FROM dispatch.jobs WHERE request_id = $1", uuid.UUID(request_id)
                ):
                    break
                threading.Event().wait(0.1)
            # after whatever the technician already has today: a booking never overlaps another
            busy = sql(
                self.database_url,
                "SELECT max(planned_end) AS until FROM dispatch.assignments "
                "WHERE technician_id = $1 AND status IN ('offered', 'accepted', 'en_route', 'on_site')",
                uuid.UUID(technician_id),
            )[0]["until"]
            slot = {"planned_start": (busy + timedelta(minutes=15)).isoformat()} if busy else {}
            if not rows:
                given = dispatch.post(
                    "/assignments",
                    json={"request_id": request_id, "technician_id": technician_id, "lock": False, **slot},
                )
                assert given.status_code == 201, given.text
                return request_id, given.json()["id"]
            if rows[0]["tech"] != technician_id:
                moved = dispatch.post(
                    f"/assignments/{rows[0]['id']}/reassign",
                    json={"technician_id": technician_id, "lock": False, **slot},
                )
                assert moved.status_code == 200, moved.text
            return request_id, rows[0]["id"]


@pytest.fixture(scope="module")
def field(stack: Stack, keys: Keys, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Field:
    demo_dirs = sorted(tmp_path_factory.getbasetemp().glob("demo*"))
    assert demo_dirs, "the gateway fixture makes the demo users' directory"
    return Field(stack, keys, demo_dirs[0] / "demo.json", database_url)


@pytest.fixture
def phone(browser: Browser, gateway: str, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    context = browser.new_context(
        **PIXEL_7,
        locale="en-GB",
        permissions=["geolocation"],
        geolocation={"latitude": SITE[0] + 0.01, "longitude": SITE[1]},
    )
    context.set_default_timeout(15_000)
    yield context
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for i, opened in enumerate(context.pages):
        opened.screenshot(path=str(ARTEFACTS / f"{request.node.name}-{i}.png"))
    context.close()


def sign_in(context: BrowserContext, gateway: str, name: str) -> Page:
    page = context.new_page()
    page.goto(f"{gateway}/tech/")
    page.get_by_role("button", name=name).click()
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    # the service worker controls the page once it has precached the app: from then on it opens with no signal
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    return page


def stop(page: Page, assignment_id: str) -> Locator:
    return page.get_by_test_id(f"stop-{assignment_id}")


def photo_file(tmp: Path) -> Path:
    """A phone camera's picture: 12 megapixels of noise, a few megabytes — over the server's cap as it is."""
    path = tmp / "unit.jpg"
    Image.effect_noise((4000, 3000), 60).convert("RGB").save(path, "JPEG", quality=92)
    assert path.stat().st_size > 1_500_000
    return path


def sign(page: Page) -> None:
    canvas = page.get_by_test_id("signature")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 20 + i * 20, box["y"] + box["height"] / 2 + (15 if i % 2 else -15))
    page.mouse.up()


def report(card: Locator, page: Page, signer: str, photo: Path | None = None) -> None:
    card.get_by_role("button", name="Finish: report").click()
    form = card.get_by_role("form", name="Visit report")
    expect(form).to_contain_text(re.compile(r"Time on site: \d+ min"))  # from the on-site step, synced or not
    form.get_by_label("Work done").fill("Replaced the condenser fan motor")
    form.get_by_label("Fault found").check()
    form.get_by_role("button", name="+ Part").click()
    form.get_by_label("Part number").fill("FAN-M-220")
    form.get_by_label("Quantity").fill("2")
    if photo is not None:
        form.get_by_test_id("photo-input").set_input_files(str(photo))
        expect(form.get_by_test_id("photo-thumb")).to_have_count(1)
    form.get_by_label("Signed by (customer's name)").fill("Marina Ivanova")
    sign(page)
    form.get_by_role("button", name="Send the report").click()


def test_a_whole_job_from_accept_to_a_signed_report_with_a_photo(
    phone: BrowserContext, browser: Browser, gateway: str, field: Field, tmp_path: Path
) -> None:
    technician_id, name = field.technician()
    request_id, assignment_id = field.job_for(technician_id, "Cold room at +9 °C")
    page = sign_in(phone, gateway, name)
    card = stop(page, assignment_id)
    expect(card.get_by_test_id("status")).to_have_text("Offered")
    expect(card.get_by_role("link", name="Navigate")).to_have_attribute(
        "href", f"geo:{SITE[0]},{SITE[1]}?q={SITE[0]},{SITE[1]}(Moskovskaya%20St%2012%2C%20Yalta)"
    )
    expect(page.get_by_test_id("day-map")).to_be_visible()
    # the site's units, read from contracts once the booking reached it (a live frame reloads the day)
    units = card.get_by_test_id("equipment")
    expect(units).to_contain_text("Equipment (1)")
    units.locator("summary").click()
    expect(units).to_contain_text(f"cold room · Polair KXH-10 · S/N {field.serial}")
    expect(card.get_by_test_id("access")).to_have_text("Access: any time")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "tech-day.png")

    card.get_by_role("button", name="Accept").click()
    expect(card.get_by_test_id("status")).to_have_text("Accepted")  # the server's answer, nothing waiting
    card.get_by_role("button", name="En route").click()
    expect(card.get_by_test_id("status")).to_have_text("En route")
    card.get_by_role("button", name="On site").click()
    expect(card.get_by_test_id("status")).to_have_text("On site")
    report(card, page, "Marina Ivanova", photo_file(tmp_path))
    expect(card.get_by_test_id("status")).to_have_text("Completed")
    expect(page.get_by_test_id("queue-empty")).to_be_visible()

    # the dispatcher's API and the customer's see the report, the photo and the signature
    with field.dispatcher() as dispatch:
        seen = dispatch.get(f"/requests/{request_id}/visit-report").json()
    assert seen["status"] == "completed" and seen["signed_by"] == "Marina Ivanova"
    assert seen["parts_used"] == [{"part": "FAN-M-220", "quantity": 2}]
    assert {a["kind"] for a in seen["attachments"]} == {"photo", "signature"}
    customer = field.keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(field.customer_id))
    with httpx.Client(base_url=field.stack.url("dispatch"), headers=customer) as theirs:
        shown = theirs.get(f"/requests/{request_id}/visit-report").json()
        assert shown["work_done"] == "Replaced the condenser fan motor" and "technician_id" not in shown
        photo = next(a for a in shown["attachments"] if a["kind"] == "photo")
        picture = theirs.get(f"/{photo['url']}")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    # compressed in the browser: resized to at most 1600 px and well under the server's cap
    assert len(picture.content) < 1_000_000 and max(Image.open(io.BytesIO(picture.content)).size) <= 1600

    # and the dispatcher reads it in the console: the job's bar on the technician's row opens the report
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    console = desk.new_page()
    console.goto(f"{gateway}/console/")
    console.get_by_role("button", name="Demo dispatcher").click()
    console.locator(f'[data-request="{request_id}"]').first.click()
    shown_report = console.get_by_role("region", name="Visit report")
    expect(shown_report).to_contain_text("Marina Ivanova")
    expect(shown_report).to_contain_text("FAN-M-220 \u00d7 2")
    expect(shown_report.get_by_role("img")).to_have_count(2)
    console.wait_for_function(
        "Array.from(document.querySelectorAll('.visit-report img')).every(i => i.complete && i.naturalWidth > 0)"
    )
    console.screenshot(path=str(ARTEFACTS / "console-visit-report.png"))
    desk.close()


def test_offline_the_job_is_done_reloaded_and_synced_once(
    phone: BrowserContext, gateway: str, field: Field, tmp_path: Path
) -> None:
    technician_id, name = field.technician()
    request_id, assignment_id = field.job_for(technician_id, "Ice machine leaking")
    page = sign_in(phone, gateway, name)
    card = stop(page, assignment_id)
    card.get_by_role("button", name="Accept").click()
    expect(card.get_by_test_id("status")).to_have_text("Accepted")

    phone.set_offline(True)
    expect(page.get_by_test_id("network")).to_have_text("offline")
    card.get_by_role("button", name="En route").click()
    expect(card.get_by_test_id("status")).to_have_text("En route · waiting to sync")
    expect(page.get_by_test_id("gps")).to_have_text(
        re.compile(r"GPS: [1-9]")
    )  # a fix taken on the way, for the next batch
    card.get_by_role("button", name="On site").click()
    report(card, page, "Marina Ivanova", photo_file(tmp_path))
    expect(card.get_by_test_id("status")).to_have_text("Completed · waiting to sync")
    # en route, on site, the positions of the way, the photo, the signature, the report
    expect(page.get_by_test_id("queued-command")).to_have_count(6)

    page.reload()  # still offline: the service worker opens the app, IndexedDB keeps the day and the queue
    card = stop(page, assignment_id)
    expect(card.get_by_test_id("status")).to_have_text("Completed · waiting to sync")
    expect(card.get_by_test_id("equipment")).to_contain_text("Equipment (1)")  # the units were kept with the day
    expect(page.get_by_test_id("queued-command")).to_have_count(6)
    assert (
        sql(field.database_url, "SELECT status FROM dispatch.assignments WHERE id = $1", uuid.UUID(assignment_id))[0][
            "status"
        ]
        == "accepted"
    )

    phone.set_offline(False)
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(card.get_by_test_id("status")).to_have_text("Completed")

    history = sql(
        field.database_url,
        "SELECT status, count(*) AS n FROM dispatch.assignment_history WHERE assignment_id = $1 GROUP BY status",
        uuid.UUID(assignment_id),
    )
    steps = {r["status"]: r["n"] for r in history}
    assert steps["accepted"] == 1 and steps["en_route"] == 1 and steps["on_site"] == 1 and steps["completed"] == 1
    commands = sql(
        field.database_url,
        "SELECT kind, status_code FROM dispatch.mobile_commands WHERE technician_id = $1 ORDER BY created_at",
        uuid.UUID(technician_id),
    )
    # Each step applied once, in order. Position batches are counted apart: the queued one is replayed like any
    # command, and a fix taken while the replay briefly shows the stop en route may go out as one more batch.
    steps_applied = [(c["kind"], c["status_code"]) for c in commands if c["kind"] != "positions"]
    assert steps_applied == [("accept", 200), ("status:en_route", 200), ("status:on_site", 200), ("report", 200)]
    batches = [c["status_code"] for c in commands if c["kind"] == "positions"]
    assert batches and set(batches) == {200}
    kinds = [c["kind"] for c in commands]
    assert kinds.index("positions") < kinds.index("report")  # the batch taken on the way kept its place in the queue
    pings = sql(
        field.database_url,
        "SELECT at, received_at FROM dispatch.position_pings WHERE technician_id = $1",
        uuid.UUID(technician_id),
    )
    assert pings and all(p["received_at"] >= p["at"] for p in pings)  # the device's time and the server's, both kept
    pictures = sql(
        field.database_url,
        "SELECT kind FROM dispatch.attachments WHERE assignment_id = $1 ORDER BY created_at",
        uuid.UUID(assignment_id),
    )
    assert [p["kind"] for p in pictures] == ["photo", "signature"]  # each stored once, kept offline as blobs
    with field.dispatcher() as dispatch:
        assert dispatch.get(f"/requests/{request_id}/visit-report").json()["status"] == "completed"


def test_a_command_refused_on_replay_is_shown_with_its_reason(
    phone: BrowserContext, gateway: str, field: Field
) -> None:
    technician_id, name = field.technician()
    other_id, _ = field.technician()
    _, assignment_id = field.job_for(technician_id, "Display case warm")
    page = sign_in(phone, gateway, name)
    card = stop(page, assignment_id)
    card.get_by_role("button", name="Accept").click()
    expect(card.get_by_test_id("status")).to_have_text("Accepted")

    phone.set_offline(True)
    card.get_by_role("button", name="En route").click()
    expect(page.get_by_test_id("queued-command")).to_have_count(1)
    with field.dispatcher() as dispatch:  # meanwhile the dispatcher gives the job to someone else
        moved = dispatch.post(f"/assignments/{assignment_id}/reassign", json={"technician_id": other_id, "lock": False})
        assert moved.status_code == 200, moved.text
    phone.set_offline(False)

    refused = page.get_by_test_id("refused-command")
    expect(refused).to_contain_text("En route: Moskovskaya St 12, Yalta")
    expect(refused).to_contain_text("assignment not found")
    expect(refused).to_contain_text("call the dispatcher")
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    page.screenshot(path=str(ARTEFACTS / "tech-refused.png"))
    refused.get_by_role("button", name="Dismiss").click()
    expect(refused).to_have_count(0)


def test_the_app_is_installable_and_opens_offline(phone: BrowserContext, gateway: str, field: Field) -> None:
    _, name = field.technician()
    page = sign_in(phone, gateway, name)

    manifest = page.request.get(f"{gateway}/tech/manifest.webmanifest").json()
    assert manifest["start_url"] == "/tech/" and manifest["scope"] == "/tech/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        fetched = page.request.get(f"{gateway}/tech/{icon['src']}")
        assert fetched.ok and fetched.headers["content-type"] == "image/png"
    assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)") == f"{gateway}/tech/"
    assert page.locator('link[rel="manifest"]').count() >= 1

    phone.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    expect(page.get_by_test_id("network")).to_have_text("offline")
    fresh = phone.new_page()  # a new window of the installed app, no signal at all
    fresh.goto(f"{gateway}/tech/")
    expect(fresh.get_by_role("heading", name="My day")).to_be_visible()
    fresh.get_by_role("button", name="RU", exact=True).click()
    expect(fresh.get_by_role("heading", name="Мой день")).to_be_visible()
    expect(fresh.get_by_test_id("network")).to_have_text("нет сети")
    fresh.screenshot(path=str(ARTEFACTS / "tech-offline-ru.png"))
    fresh.get_by_role("button", name="EN", exact=True).click()
    phone.set_offline(False)


def test_a_new_emergency_and_a_job_taken_away_show_as_notices_within_seconds(
    phone: BrowserContext, gateway: str, field: Field
) -> None:
    technician_id, name = field.technician()
    other_id, _ = field.technician()
    _, first = field.job_for(technician_id, "Cold room alarm")
    page = sign_in(phone, gateway, name)
    expect(stop(page, first)).to_be_visible()
    expect(page.get_by_test_id("live")).to_have_text("live")

    _, second = field.job_for(technician_id, "Freezer door broken")  # no reload: the technician's stream brings it
    expect(page.get_by_test_id("notices")).to_contain_text("New job: Moskovskaya St 12, Yalta")
    expect(stop(page, second)).to_be_visible()

    page.get_by_test_id("notices").get_by_role("button", name="Dismiss").click()
    with field.dispatcher() as dispatch:
        moved = dispatch.post(f"/assignments/{first}/reassign", json={"technician_id": other_id, "lock": False})
        assert moved.status_code == 200, moved.text
    expect(page.get_by_test_id("notices")).to_contain_text("Job taken away: Moskovskaya St 12, Yalta")
    expect(stop(page, first)).to_have_count(0)


def test_a_technician_declines_an_offer_with_a_reason(phone: BrowserContext, gateway: str, field: Field) -> None:
    technician_id, name = field.technician()
    _, assignment_id = field.job_for(technician_id, "Ice machine noisy")
    page = sign_in(phone, gateway, name)
    card = stop(page, assignment_id)

    card.get_by_role("button", name="Decline").click()
    card.get_by_label("Too far").check()
    card.get_by_role("button", name="Decline the visit").click()

    expect(card).to_have_count(0)  # declined work leaves the day
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    expect(page.get_by_text("Job taken away")).to_have_count(0)  # their own decision is no news
    history = sql(
        field.database_url,
        "SELECT detail FROM dispatch.assignment_history WHERE assignment_id = $1 AND status = 'declined'",
        uuid.UUID(assignment_id),
    )
    assert [json.loads(h["detail"])["reason"] for h in history] == ["Too far"]


def test_a_break_and_a_break_the_server_refuses_while_en_route(
    phone: BrowserContext, gateway: str, field: Field
) -> None:
    technician_id, name = field.technician()
    _, assignment_id = field.job_for(technician_id, "Bottle cooler noisy")
    page = sign_in(phone, gateway, name)

    page.get_by_role("button", name="Break", exact=True).click()
    expect(page.get_by_role("button", name="Back from break")).to_be_visible()
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    page.get_by_role("button", name="Back from break").click()
    expect(page.get_by_role("button", name="Break", exact=True)).to_be_visible()

    card = stop(page, assignment_id)
    card.get_by_role("button", name="Accept").click()
    card.get_by_role("button", name="En route").click()
    expect(card.get_by_test_id("status")).to_have_text("En route")
    page.get_by_role("button", name="Break", exact=True).click()
    expect(page.get_by_test_id("refused-command")).to_contain_text("cannot start a break while en route")
    expect(page.get_by_test_id("refused-command")).to_contain_text("A break starts only when")
    expect(page.get_by_role("button", name="Break", exact=True)).to_be_visible()  # the server's answer decides


def test_a_visit_that_fails_for_no_access_is_reported_without_a_signature(
    phone: BrowserContext, gateway: str, field: Field
) -> None:
    technician_id, name = field.technician()
    request_id, assignment_id = field.job_for(technician_id, "Cold room at +12 °C")
    page = sign_in(phone, gateway, name)
    card = stop(page, assignment_id)
    for button, status in (("Accept", "Accepted"), ("En route", "En route"), ("On site", "On site")):
        card.get_by_role("button", name=button).click()
        expect(card.get_by_test_id("status")).to_have_text(status)

    card.get_by_role("button", name="Finish: report").click()
    form = card.get_by_role("form", name="Visit report")
    form.get_by_label("No access").check()
    form.get_by_label("Work done").fill("The gate was locked; nobody answered the phone")
    form.get_by_role("button", name="Send the report").click()

    expect(card.get_by_test_id("status")).to_have_text("Failed")
    expect(card).to_contain_text("No access")
    with field.dispatcher() as dispatch:
        seen = dispatch.get(f"/requests/{request_id}/visit-report").json()
    assert seen["status"] == "failed" and seen["outcome"] == "no_access" and seen["signed_by"] is None


def test_a_technician_adds_their_photo_which_their_customers_see(
    phone: BrowserContext, gateway: str, field: Field, tmp_path: Path
) -> None:
    technician_id, name = field.technician()
    request_id, _ = field.job_for(technician_id, "Display case iced up")
    page = sign_in(phone, gateway, name)
    expect(page.get_by_test_id("my-photo")).to_have_count(0)
    page.get_by_test_id("my-photo-input").set_input_files(str(photo_file(tmp_path)))  # compressed, then sent
    expect(page.get_by_test_id("my-photo")).to_be_visible()

    with httpx.Client(base_url=field.stack.url("dispatch"), headers=field.keys.headers(Role.DISPATCHER)) as dispatch:
        stored = dispatch.get(f"/technicians/{technician_id}/photo")
        assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
        assert len(stored.content) < 1_000_000  # the phone's 12 megapixels made small before sending
    mine = field.keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(field.customer_id))
    with httpx.Client(base_url=field.stack.url("dispatch"), headers=mine) as portal:
        visit = portal.get(f"/customer/requests/{request_id}/visit").json()
        assert visit["technician_photo_url"] == f"customer/requests/{request_id}/technician-photo"
        assert portal.get(visit["technician_photo_url"]).content == stored.content
