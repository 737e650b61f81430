"""A customer at the portal on a phone, in Chromium, against the real services: files, tracks, cancels, rates;
and never sees another customer's data, in any screen or any API the portal calls."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, Route, expect

from shared.auth import Role
from tests.browser.conftest import ARTEFACTS, screenshot
from tests.conftest import Keys
from tests.support.infra import Stack

# like the console's: in `make test`, alone `make test-browser`
pytestmark = pytest.mark.browser

PHONE = "Pixel 7"
YALTA = {"lat": 44.499, "lon": 34.16}


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    site_id: str
    unit_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _customer(stack: Stack, keys: Keys, name: str, site: str, location: dict[str, float]) -> Customer:
    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        customer = contracts.post("/customers", json={"name": f"{name} {uuid.uuid4().hex[:4]}"}).json()
        place = {"name": site, "address": f"{site}, Crimea", "location": location}
        created = contracts.post(f"/customers/{customer['id']}/sites", json=place).json()
        unit = contracts.post(
            f"/sites/{created['id']}/equipment",
            json={
                "equipment_type": "cold_room",
                "model": "Polair KXH-6",
                "serial": uuid.uuid4().hex[:8],
                "required_skills": [{"skill": "refrigeration", "min_level": 2}],
            },
        ).json()
        contract = contracts.post(
            "/contracts",
            json={
                "customer_id": customer["id"],
                "contract_type": "full_maintenance",
                "starts_on": "2026-01-01",
                "site_ids": [created["id"]],
                "sla": [
                    {"priority": p, "response_minutes": r, "fix_minutes": 2 * r}
                    for p, r in (("P1", 240), ("P2", 480), ("P3", 1440))
                ],
                "quotas": [{"request_kind": "emergency", "period": "year", "included": 12}],
            },
        ).json()
        contracts.post(
            f"/contracts/{contract['id']}/schedules",
            json={"site_id": created["id"], "rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "duration_minutes": 60},
        )
        assert contracts.post(f"/contracts/{contract['id']}/activate").json()["status"] == "active"
    token = keys.token(Role.CUSTOMER, customer_id=uuid.UUID(customer["id"]))
    return Customer(customer["id"], customer["name"], created["id"], unit["id"], token)


@pytest.fixture(scope="module")
def alpha(stack: Stack, keys: Keys) -> Customer:
    return _customer(stack, keys, "Yalta Fresh Market", "Yalta, Moskovskaya 12", YALTA)


@pytest.fixture(scope="module")
def beta(stack: Stack, keys: Keys) -> Customer:
    return _customer(stack, keys, "Kerch Fish Co", "Kerch, Lenina 5", {"lat": 45.357, "lon": 36.468})


@pytest.fixture(scope="module")
def technician(stack: Stack, keys: Keys) -> str:
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        response = dispatch.post(
            "/technicians",
            json={"name": "Anna Belova", "skills": {"refrigeration": 3}, "home_base": {"lat": 44.51, "lon": 34.18}},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.fixture
def phone_as(
    browser: Browser, playwright: Playwright, request: pytest.FixtureRequest
) -> Iterator[Callable[[Customer], Page]]:
    """A phone's browser signed in as the customer (the session the sign-in page would store)."""
    contexts = []
    device = {k: v for k, v in playwright.devices[PHONE].items() if k != "default_browser_type"}

    def open_as(customer: Customer) -> Page:
        context = browser.new_context(**device, locale="en-GB")
        session = json.dumps({"accessToken": customer.token, "name": customer.name, "role": "customer"})
        key = "fieldline.session"
        context.add_init_script(
            f"if (!sessionStorage.getItem('{key}')) sessionStorage.setItem('{key}', {json.dumps(session)});"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_as
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for i, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(ARTEFACTS / f"{request.node.name}-{i}.png"))
        context.close()


def _file(stack: Stack, customer: Customer, description: str) -> str:
    with httpx.Client(base_url=stack.url("requests"), headers=customer.headers) as requests_api:
        filed = requests_api.post(
            "/requests",
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={"site_id": customer.site_id, "equipment_id": customer.unit_id, "description": description},
        )
        assert filed.status_code == 201, filed.text
        return str(filed.json()["id"])


class Technician:
    """Whoever dispatch booked on the request, working it through the technician's mobile API (/me/*)."""

    def __init__(self, stack: Stack, keys: Keys, request_id: str, fallback: str) -> None:
        self.stack = stack
        self.technician_id, self.assignment_id = _booking(stack, keys, request_id, fallback)
        token = keys.headers(Role.TECHNICIAN, technician_id=uuid.UUID(self.technician_id))
        self.client = httpx.Client(base_url=stack.url("dispatch"), headers=token)

    def _send(self, path: str, **body: Any) -> None:
        response = self.client.post(path, json={"client_command_id": str(uuid.uuid4()), **body})
        assert response.status_code == 200, response.text

    def step(self, status: str, position: dict[str, float] | None = None) -> None:
        if status == "accepted":
            self._send(f"/me/assignments/{self.assignment_id}/accept")
        else:
            self._send(f"/me/assignments/{self.assignment_id}/status", status=status, position=position)

    def set_photo(self) -> None:
        """The technician's own photo, as the technician app sets it."""
        portrait = io.BytesIO()
        Image.new("RGB", (240, 240), (90, 140, 200)).save(portrait, "JPEG")
        response = self.client.put("/me/photo", content=portrait.getvalue(), headers={"content-type": "image/jpeg"})
        assert response.status_code == 200, response.text

    def ping(self, position: dict[str, float]) -> None:
        self._send("/me/positions", pings=[{"at": _stack_now(self.stack).isoformat(), "position": position}])

    def _picture(self, kind: str, image: Image.Image) -> str:
        """A photo or the signature, uploaded before the report as the technician app does; its id."""
        attachment_id, content = str(uuid.uuid4()), io.BytesIO()
        image.save(content, "JPEG" if kind == "photo" else "PNG")
        response = self.client.put(
            f"/me/assignments/{self.assignment_id}/attachments/{attachment_id}",
            params={"kind": kind},
            content=content.getvalue(),
            headers={"content-type": "image/jpeg" if kind == "photo" else "image/png"},
        )
        assert response.status_code == 201, response.text
        return attachment_id

    def complete(self) -> None:
        photo = self._picture("photo", Image.new("RGB", (320, 240), (200, 200, 210)))
        signature = self._picture("signature", Image.new("RGB", (300, 100), (255, 255, 255)))
        self._send(
            f"/me/assignments/{self.assignment_id}/report",
            outcome="completed",
            work_done="Cleaned the condenser, replaced the door gasket",
            notes="internal: the manager asked for a discount",
            parts_used=[{"part": "door gasket", "quantity": 1}],
            signed_by="M. Ivanova",
            attachment_ids=[photo, signature],
        )


def _stack_now(stack: Stack) -> datetime:
    env = stack.services["dispatch"].env
    start = datetime.fromisoformat(env["FIELDLINE_CLOCK_START"])
    return start + timedelta(seconds=time.time() - float(env["FIELDLINE_CLOCK_ANCHOR"]))


def _booking(stack: Stack, keys: Keys, request_id: str, fallback: str) -> tuple[str, str]:
    """The technician and assignment dispatch booked; a dispatcher books `fallback` by hand if it placed none."""
    staff = keys.headers(Role.DISPATCHER)
    deadline = time.monotonic() + 20
    with httpx.Client(headers=staff) as client:
        while time.monotonic() < deadline:
            shown = client.get(f"{stack.url('requests')}/requests/{request_id}").json()
            booked = [e for e in shown["timeline"] if e["status"] in ("assigned", "reassigned")]
            if shown["technician_id"] and booked:
                return shown["technician_id"], booked[-1]["detail"]["assignment_id"]
            if shown["status"] == "triaged":  # unplaceable: a dispatcher steps in
                assigned = client.post(
                    f"{stack.url('dispatch')}/assignments",
                    json={"request_id": request_id, "technician_id": fallback, "lock": False},
                )
                assert assigned.status_code == 201, assigned.text
                return fallback, assigned.json()["id"]
            time.sleep(0.3)
    raise AssertionError(f"request {request_id} was never booked")


def test_a_customer_files_an_emergency_on_a_phone_and_watches_it_reach_on_site(
    phone_as: Callable[[Customer], Page],
    gateway: str,
    stack: Stack,
    keys: Keys,
    alpha: Customer,
    technician: str,
    tmp_path: Path,
) -> None:
    page = phone_as(alpha)
    page.goto(f"{gateway}/portal/")
    page.get_by_role("link", name="Report a problem").click()

    expect(page.get_by_label("Site", exact=True)).to_have_value(alpha.site_id)  # the only site: chosen already
    expect(page.get_by_test_id("cover")).to_have_text("Covered by your full maintenance contract")
    page.get_by_label("Unit", exact=True).select_option(alpha.unit_id)
    page.get_by_label("What is wrong").fill("Cold room at +9 °C, goods at risk")
    page.get_by_label("It has stopped").check()
    page.get_by_label("Who meets the technician").fill("Marina")
    page.get_by_label("Phone").fill("+7 978 000 00 00")
    photo = tmp_path / "cold-room.jpg"
    Image.effect_noise((1600, 1200), 60).convert("RGB").save(photo, "JPEG", quality=92)
    page.get_by_test_id("photo-input").set_input_files(str(photo))
    expect(page.get_by_test_id("photos").locator("img")).to_have_count(1)  # compressed on the phone, shown
    screenshot(page, "portal-file.png")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/portal/requests/[0-9a-f-]{36}$"))
    request_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_text("Cold room at +9 °C, goods at risk")).to_be_visible()
    expect(page.get_by_test_id("request-photos").locator("img")).to_have_count(1)  # the photo went with it
    with httpx.Client(base_url=stack.url("requests"), headers=keys.headers(Role.DISPATCHER)) as requests_api:
        (sent,) = requests_api.get(f"/requests/{request_id}/photos").json()
        assert sent["content_type"] == "image/jpeg" and sent["size_bytes"] < 1_000_000  # compressed before sending
    expect(page.get_by_test_id("live")).to_have_text("live")

    anna = Technician(stack, keys, request_id, technician)
    expect(page.get_by_test_id("technician")).to_have_text(re.compile(r"\w+"))
    anna.set_photo()
    anna.step("accepted")
    expect(page.get_by_test_id("technician-photo")).to_be_visible()  # who is coming, read again with the step
    anna.step("en_route", {"lat": 44.6, "lon": 34.33})  # from near Alushta

    expect(page.get_by_test_id("status")).to_have_text("On the way")
    expect(page.get_by_test_id("eta")).to_contain_text("about")
    marker = page.get_by_test_id("tech-position")
    expect(marker).to_be_visible()
    first_x = marker.get_attribute("cx")
    screenshot(page, "portal-track.png")

    anna.ping({"lat": 44.55, "lon": 34.26})  # closer: the map follows without a reload
    expect(marker).not_to_have_attribute("cx", str(first_x))

    anna.step("on_site", YALTA)
    expect(page.get_by_test_id("status")).to_have_text("On site")
    expect(page.get_by_test_id("tech-position")).to_have_count(0)  # the map only while en route
    expect(page.locator('[data-entry="on_site"]')).to_be_visible()
    expect(page.get_by_role("button", name="Cancel request")).to_have_count(0)


def test_a_retry_after_a_lost_answer_never_files_twice(
    phone_as: Callable[[Customer], Page], gateway: str, stack: Stack, alpha: Customer
) -> None:
    page = phone_as(alpha)
    lost = {"count": 0}

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method == "POST" and lost["count"] == 0:
            lost["count"] += 1
            route.fetch()  # the server files it; the phone never hears back
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/requests/customer/requests", lose_the_first_answer)
    page.goto(f"{gateway}/portal/new")
    description = f"Ice machine leaking {uuid.uuid4().hex[:6]}"
    page.get_by_label("What is wrong").fill(description)
    page.get_by_label("It can wait").check()
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("alert")).to_contain_text("a retry never files twice")

    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/portal/requests/[0-9a-f-]{36}$"))
    with httpx.Client(base_url=stack.url("requests"), headers=alpha.headers) as api:
        mine = api.get("/customer/requests").json()
    filed = [r for r in mine if r["description"] == description]
    assert len(filed) == 1 and filed[0]["kind"] == "routine" and len(filed[0]["preferred_windows"]) == 1
    assert page.url.endswith(filed[0]["id"])


def test_a_customer_cancels_a_request_with_a_reason(
    phone_as: Callable[[Customer], Page], gateway: str, stack: Stack, alpha: Customer
) -> None:
    request_id = _file(stack, alpha, "Display case warm")
    page = phone_as(alpha)
    page.goto(f"{gateway}/portal/")
    page.locator(f'[data-request="{request_id}"]').click()

    page.get_by_role("button", name="Cancel request").click()
    page.get_by_label("Filed by mistake").check()
    page.get_by_role("button", name="Cancel it").click()

    expect(page.get_by_test_id("status")).to_have_text("Cancelled")
    expect(page.locator('[data-entry="cancelled"]')).to_contain_text("You cancelled the request: Filed by mistake")
    page.get_by_role("link", name="History").click()
    expect(page.locator(f'[data-request="{request_id}"]')).to_contain_text("Cancelled")


def test_after_the_job_the_emailed_link_shows_the_report_and_the_survey(
    phone_as: Callable[[Customer], Page], gateway: str, stack: Stack, keys: Keys, alpha: Customer, technician: str
) -> None:
    request_id = _file(stack, alpha, "Compressor noisy")
    anna = Technician(stack, keys, request_id, technician)
    for status in ("accepted", "en_route", "on_site"):
        anna.step(status, YALTA if status == "on_site" else {"lat": 44.52, "lon": 34.2})
    anna.complete()
    page = phone_as(alpha)

    page.goto(f"{gateway}/requests/{request_id}")  # the e-mail's link

    expect(page).to_have_url(f"{gateway}/portal/requests/{request_id}")
    expect(page.get_by_test_id("status")).to_have_text("Completed")
    report = page.get_by_role("region", name="Completion report")
    expect(report).to_contain_text("Cleaned the condenser")
    expect(report).to_contain_text("door gasket \u00d7 1")
    expect(report).to_contain_text("M. Ivanova")
    expect(report.get_by_test_id("report-signature")).to_be_visible()  # the signature as drawn, and the photo
    expect(report.get_by_test_id("report-photos").locator("img")).to_have_count(1)
    expect(page.get_by_text("discount")).to_have_count(0)  # the technician's notes stay inside
    expect(page.get_by_role("button", name="Print / PDF")).to_be_visible()

    survey = page.get_by_role("region", name="How did we do?")
    survey.get_by_role("radio", name="4 of 5").click()
    survey.get_by_role("radio", name="9", exact=True).click()
    survey.get_by_label("Comment").fill("Quick and tidy")
    survey.get_by_role("button", name="Send rating").click()

    expect(page.get_by_role("status")).to_have_text("Thank you! You rated 4 of 5.")
    page.reload()
    expect(page.get_by_role("status")).to_have_text("Thank you! You rated 4 of 5.")
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation")).to_be_hidden()
    expect(report).to_be_visible()


def test_sites_show_the_cover_and_the_portal_speaks_russian(
    phone_as: Callable[[Customer], Page], gateway: str, alpha: Customer
) -> None:
    page = phone_as(alpha)
    page.goto(f"{gateway}/portal/sites")

    site = page.locator(f'[data-site="{alpha.site_id}"]')
    expect(site).to_contain_text("Covered by your full maintenance contract")
    expect(site).to_contain_text("P1: arrival within 4 h, fix within 8 h")
    expect(site).to_contain_text(re.compile(r"Emergency call-outs: \d+ of 12 used, \d+ left"))
    expect(site).to_contain_text("Next planned visit")
    expect(site).to_contain_text("Polair KXH-6")

    page.get_by_role("button", name="RU", exact=True).click()
    expect(site).to_contain_text("P1: прибытие за 4 ч, устранение за 8 ч")
    expect(page.get_by_role("link", name="Заявки")).to_be_visible()
    page.reload()
    expect(page.get_by_role("link", name="Объекты")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="EN", exact=True).click()


def test_a_customer_never_sees_another_customers_data(
    phone_as: Callable[[Customer], Page], gateway: str, stack: Stack, alpha: Customer, beta: Customer
) -> None:
    secret = f"Alpha's freezer {uuid.uuid4().hex[:6]}"
    alphas = _file(stack, alpha, secret)

    # every API the portal calls, through the one origin, with the other customer's token
    with httpx.Client(base_url=f"{gateway}/api", headers=beta.headers) as api:
        for path in (
            f"/requests/customer/requests/{alphas}",
            f"/requests/customer/requests/{alphas}/stream",
            f"/requests/requests/{alphas}/survey",
            f"/dispatch/customer/requests/{alphas}/visit",
        ):
            assert api.get(path).status_code == 404, path
        assert api.post(f"/requests/customer/requests/{alphas}/cancel", json={"reason": "x"}).status_code == 404
        listed = api.get("/requests/customer/requests").text
        cover = api.get("/contracts/customer/cover").json()
    assert alphas not in listed and secret not in listed
    assert [s["id"] for s in cover["sites"]] == [beta.site_id]

    page = phone_as(beta)
    page.goto(f"{gateway}/portal/requests/{alphas}")
    expect(page.get_by_role("alert")).to_have_text("Request not found.")
    expect(page.get_by_text(secret)).to_have_count(0)
    for tab in ("Requests", "History", "Sites"):
        page.get_by_role("link", name=tab).click()
        expect(page.get_by_role("heading", level=2)).to_be_visible()
        expect(page.get_by_text(secret)).to_have_count(0)
        expect(page.get_by_text("Yalta")).to_have_count(0)
    page.get_by_role("link", name="Report", exact=True).click()
    expect(page.get_by_label("Site", exact=True).locator("option")).to_have_count(2)  # "choose" and beta's own
    expect(page.get_by_label("Site", exact=True)).to_have_value(beta.site_id)
    assert alpha.site_id not in page.content()
