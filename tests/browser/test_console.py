"""A dispatcher at the console, in Chromium, against the real services: what a user does and sees."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from shared.auth import Role
from tests.browser.conftest import screenshot
from tests.conftest import Keys
from tests.support.bodies import contract_body
from tests.support.infra import Stack

# Playwright in Chromium against the real stack, in `make test` (alone: `make test-browser`). The drag and the
# re-plan tests failed one run in three until two live-day bugs behind them were fixed (a re-plan let go of a
# moved emergency it could not route; a dispatcher's re-plan lost to a queued one with a 409).
pytestmark = pytest.mark.browser


def _customer_with_a_covered_site(stack: Stack, keys: Keys) -> tuple[str, str]:
    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        customer = contracts.post("/customers", json={"name": f"Yalta Fresh Market {uuid.uuid4().hex[:4]}"}).json()
        site = contracts.post(
            f"/customers/{customer['id']}/sites",
            json={
                "name": "Yalta, Moskovskaya 12",
                "address": "Moskovskaya St 12, Yalta",
                "location": {"lat": 44.499, "lon": 34.16},
            },
        ).json()
        contract = contracts.post(
            "/contracts",
            json=contract_body(customer["id"], [site["id"]]),
        ).json()
        assert contracts.post(f"/contracts/{contract['id']}/activate").json()["status"] == "active"
    return customer["id"], site["id"]


def _technician(stack: Stack, keys: Keys, name: str, lat: float, lon: float, skills: dict[str, int]) -> str:
    phone = f"+7 978 555-{abs(hash(name)) % 100:02d}-{len(name):02d}"
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        response = dispatch.post(
            "/technicians",
            json={"name": name, "skills": skills, "home_base": {"lat": lat, "lon": lon}, "phone": phone},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def _file_emergency(stack: Stack, keys: Keys, customer_id: str, site_id: str, description: str) -> str:
    customer = keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(customer_id))
    with httpx.Client(base_url=stack.url("requests"), headers=customer) as requests_api:
        filed = requests_api.post(
            "/requests",
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={"site_id": site_id, "kind": "emergency", "description": description},
        )
        assert filed.status_code == 201, filed.text
        return str(filed.json()["id"])


def _settled_booking(stack: Stack, keys: Keys, request_id: str) -> str:
    """The technician dispatch has booked on the request, once two reads a second apart agree (the emergency's
    placement, then any re-plan it queued, may each move it)."""
    seen: list[str | None] = []
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER), timeout=30) as dispatch:
        while time.monotonic() < deadline:
            board = dispatch.get("/board").json()
            shown = next((r for r in board["requests"] if r["request_id"] == request_id), None)
            seen.append(shown["assignment"]["technician_id"] if shown and shown["assignment"] else None)
            if len(seen) >= 2 and seen[-1] is not None and seen[-1] == seen[-2]:
                return seen[-1]
            time.sleep(1)
    raise AssertionError(f"request {request_id} never settled with one technician: {seen}")


class Company:
    def __init__(self, stack: Stack, keys: Keys) -> None:
        self.customer_id, self.site_id = _customer_with_a_covered_site(stack, keys)
        self.anna = _technician(stack, keys, "Anna Koval", 44.676, 34.41, {"refrigeration": 3})
        self.ivan = _technician(stack, keys, "Ivan Sidorov", 45.357, 36.468, {"refrigeration": 4})
        self.oleg = _technician(stack, keys, "Oleg Petrov", 44.497, 34.165, {"electrical": 3})


@pytest.fixture(scope="module")
def company(stack: Stack, keys: Keys) -> Company:
    return Company(stack, keys)


def sign_in(page: Page, gateway: str) -> None:
    page.goto(f"{gateway}/console/")
    page.get_by_role("button", name="Demo dispatcher").click()
    expect(page.get_by_role("heading", name="Dispatcher console")).to_be_visible()


def job(page: Page, request_id: str) -> Locator:
    """The job on the schedule board: a bar on a technician's row, or an entry of the queue beside it."""
    return page.locator(f'[data-request="{request_id}"]')


def test_a_dispatcher_signs_in_and_out(page: Page, gateway: str) -> None:
    page.goto(f"{gateway}/console/")
    expect(page.get_by_text("Development sign-in: choose a demo user")).to_be_visible()

    page.get_by_role("button", name="Demo dispatcher").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_test_id("live")).to_have_text("live")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Demo dispatcher")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_an_emergency_filed_by_a_customer_appears_on_the_board_and_the_map(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    sign_in(page, gateway)
    expect(page.get_by_test_id(f"map-tech-{company.anna}")).to_be_visible()

    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Cold room at +9 °C")

    # No reload: the dispatchers' live stream brings it — on a technician's row, or in the queue beside the
    # board when it is not booked today (unplaced, or placed on another day: it depends on the hour it is filed).
    expect(job(page, request_id)).to_be_visible()
    expect(page.get_by_test_id(f"map-job-{request_id}")).to_be_visible()
    page.get_by_role("button", name="Anna Koval").click()
    screenshot(page, "console-board.png")


def test_a_job_dragged_to_another_technician_stays_there_after_a_reload(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Ice machine leaking")
    sign_in(page, gateway)
    expect(job(page, request_id)).to_be_visible()
    # read who has it once the placement and the re-plans after it have settled (it always books someone, late if
    # need be), as the console shows it: a drag onto the technician a re-plan then chose would move nothing
    origin = _settled_booking(stack, keys, request_id)
    expect(job(page, request_id)).to_have_attribute("data-technician-id", origin)
    target = company.ivan if origin == company.anna else company.anna

    # onto the technician's name: the server picks the time (onto the track: the time under the pointer)
    job(page, request_id).drag_to(page.get_by_test_id(f"row-{target}").locator(".who"))

    expect(page.get_by_role("status")).to_contain_text("Moved")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", target)
    page.reload()
    expect(job(page, request_id)).to_have_attribute("data-technician-id", target)


def test_a_job_dropped_at_a_time_is_booked_then_and_undo_puts_it_back(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    every_day = {
        d: {"start": "07:00", "end": "21:00", "break_minutes": 30, "break_earliest": "12:00", "break_latest": "14:00"}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        nadia = dispatch.post(
            "/technicians",
            json={
                "name": f"Nadia Lis {uuid.uuid4().hex[:4]}",
                "phone": "+7 978 555-77-01",
                "skills": {"refrigeration": 3},
                "home_base": {"lat": 44.50, "lon": 34.17},
                "weekly_shifts": every_day,
            },
        ).json()["id"]
    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Walk-in freezer alarm")
    sign_in(page, gateway)
    row = page.get_by_test_id(f"row-{nadia}")
    expect(row.get_by_test_id(f"shift-{nadia}")).to_be_visible()  # the shift and the lunch window behind the bars
    expect(row.get_by_test_id(f"break-due-{nadia}")).to_be_attached()
    expect(job(page, request_id)).not_to_have_attribute("data-technician-id", "")
    origin = job(page, request_id).get_attribute("data-technician-id")
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        now = datetime.fromisoformat(dispatch.get("/board").json()["at"]).astimezone(ZoneInfo("Europe/Simferopol"))
    # two hours ahead, on a quarter hour, after lunch: the drop's x on the 06:00-22:00 track gives that time
    target = max(now + timedelta(hours=2), now.replace(hour=14, minute=15)).replace(second=0, microsecond=0)
    target = target.replace(minute=target.minute - target.minute % 15)
    assert 7 <= target.hour < 19, "the suite's clock leaves no room on the day's track"
    track = row.locator(".track")
    box = track.bounding_box()
    assert box is not None
    x = (target.hour * 60 + target.minute - 6 * 60) / (16 * 60) * box["width"]

    job(page, request_id).drag_to(track, target_position={"x": x, "y": box["height"] / 2})

    expect(page.get_by_role("status")).to_contain_text("Moved")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", nadia)
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        booked = next(r for r in dispatch.get("/board").json()["requests"] if r["request_id"] == request_id)
    starts = datetime.fromisoformat(booked["assignment"]["planned_start"])
    assert abs(starts - target) <= timedelta(minutes=5), (starts, target)  # the drop's time, to the 5 minutes

    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Put back as it was")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(origin))
    page.reload()
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(origin))


def test_the_job_detail_shows_what_the_services_know_and_moves_the_job_without_a_mouse(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Blast chiller warm")
    sign_in(page, gateway)
    expect(job(page, request_id)).to_be_visible()
    expect(job(page, request_id)).not_to_have_attribute("data-technician-id", "")
    # then a technician of this test's own, free beside the site: the move has room whatever the others did
    target = _technician(stack, keys, f"Pavel Klyuch {uuid.uuid4().hex[:4]}", 44.50, 34.17, {"refrigeration": 3})
    page.reload()
    expect(job(page, request_id)).to_be_visible()

    job(page, request_id).click()
    detail = page.get_by_test_id("job-detail")
    expect(detail.get_by_test_id("job-customer")).to_contain_text("Yalta Fresh Market")  # from contracts
    expect(detail.get_by_test_id("job-sla")).to_contain_text("response")  # the contract's terms for its priority
    expect(detail.get_by_test_id("job-timeline")).to_contain_text("new")  # the request's timeline (requests)
    expect(detail.get_by_test_id("job-technician")).to_contain_text("+7 978 555-")  # the technician to call
    screenshot(page, "console-job.png")

    detail.get_by_label("Technician").select_option(str(target))  # keyboard-operable: a select and a button
    detail.get_by_label("Technician").focus()
    move = detail.get_by_role("button", name="Move")
    for _ in range(6):  # past the time field (Chromium tabs through its hour and minute parts)
        page.keyboard.press("Tab")
        if move.evaluate("b => b === document.activeElement"):
            break
    expect(move).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Moved")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(target))


def test_the_map_draws_the_territories(page: Page, gateway: str, stack: Stack, keys: Keys) -> None:
    name = f"South coast {uuid.uuid4().hex[:4]}"
    ring = [[34.0, 44.4], [34.6, 44.4], [34.6, 44.8], [34.0, 44.8], [34.0, 44.4]]
    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        made = contracts.post("/territories", json={"name": name, "area": {"type": "Polygon", "coordinates": [ring]}})
        assert made.status_code == 201, made.text
    sign_in(page, gateway)
    territory = page.get_by_test_id(f"territory-{made.json()['id']}")
    expect(territory).to_be_attached()
    expect(territory.locator("title")).to_have_text(name)


def test_a_technicians_position_moves_their_marker_on_the_map_without_a_reload(
    page: Page, gateway: str, stack: Stack, keys: Keys
) -> None:
    marta = _technician(stack, keys, f"Marta Bilyk {uuid.uuid4().hex[:4]}", 44.95, 34.1, {"refrigeration": 2})
    sign_in(page, gateway)
    marker = page.get_by_test_id(f"map-tech-{marta}")
    expect(marker).to_be_attached()
    at_home = (marker.get_attribute("cx"), marker.get_attribute("cy"))
    page.evaluate("window.__samePage = true")  # gone if the page reloads

    with httpx.Client(base_url=stack.url("dispatch")) as dispatch:
        now = dispatch.get("/board", headers=keys.headers(Role.DISPATCHER)).json()["at"]  # the stack's clock
        ping = {"at": now, "position": {"lat": 45.35, "lon": 36.47}}  # Kerch
        sent = dispatch.post(
            "/me/positions",
            headers=keys.headers(Role.TECHNICIAN, technician_id=uuid.UUID(marta)),
            json={"client_command_id": str(uuid.uuid4()), "pings": [ping]},
        )
        assert sent.status_code == 200, sent.text
    # Kerch is east and north of home: the marker moves right and up, from the dispatchers' stream alone
    expect(marker).not_to_have_attribute("cx", at_home[0] or "")
    assert float(marker.get_attribute("cx") or 0) > float(at_home[0] or 0)
    assert float(marker.get_attribute("cy") or 0) < float(at_home[1] or 0)
    assert page.evaluate("window.__samePage") is True


def test_a_drag_that_breaks_a_rule_shows_the_servers_reason_and_changes_nothing(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Display case warm")
    sign_in(page, gateway)
    expect(job(page, request_id)).to_be_visible()
    expect(job(page, request_id)).not_to_have_attribute("data-technician-id", "")
    origin = job(page, request_id).get_attribute("data-technician-id")

    # Oleg has no refrigeration skill: the server refuses.
    refusal = page.get_by_test_id(f"row-{company.oleg}").get_by_role("alert")
    for attempt in range(3):
        # the board is live (other tests' jobs move it): a re-render in the middle of a drag loses the drop (one CI
        # run of three saw no request at all), so the dispatcher's gesture is made again, as a person would
        job(page, request_id).drag_to(page.get_by_test_id(f"row-{company.oleg}").locator(".who"))
        try:
            expect(refusal).to_contain_text("The server refused", timeout=8000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    screenshot(page, "console-refused.png")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(origin))
    page.reload()
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(origin))


def test_the_console_speaks_russian_and_english(page: Page, gateway: str, company: Company) -> None:
    sign_in(page, gateway)

    page.get_by_role("button", name="RU", exact=True).click()
    expect(page.get_by_role("heading", name="Диспетчерская")).to_be_visible()
    expect(page.get_by_text("Время компании: Europe/Simferopol")).to_be_visible()
    expect(page.get_by_text("Симферополь")).to_be_visible()
    screenshot(page, "console-ru.png")
    page.reload()
    expect(page.get_by_role("heading", name="Диспетчерская")).to_be_visible()

    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.get_by_role("heading", name="Dispatcher console")).to_be_visible()
    expect(page.get_by_text("Simferopol", exact=True)).to_be_visible()


# a proposal waits for the planner when another run holds it (the console tries again on the server's Retry-After)
PLANNER_WAIT_MS = 90_000


def test_a_dispatcher_replans_the_day_and_reads_what_moved(page: Page, gateway: str, company: Company) -> None:
    sign_in(page, gateway)

    page.get_by_role("button", name="Re-plan the day").click()
    proposal = page.get_by_role("region", name="Proposed plan")
    # the stack's own re-plans may hold the planner first: the console waits for it (PLANNER_WAIT_MS)
    expect(proposal).to_contain_text("re-plan requested in the console", timeout=PLANNER_WAIT_MS)
    expect(proposal.get_by_test_id("proposal-summary")).to_contain_text(re.compile(r"\d+ added, \d+ moved"))
    screenshot(page, "console-proposal.png", full_page=True)
    # the day goes on in this stack (other tests' jobs re-plan it): a proposal it moved on from is refused with the
    # server's reason, and the dispatcher plans again, as they would
    for _ in range(3):
        proposal.get_by_role("button", name="Apply this plan").click()
        expect(page.get_by_role("status").or_(proposal.get_by_role("alert"))).to_be_visible()
        if page.get_by_role("status").is_visible():
            break
        expect(proposal.get_by_role("alert")).to_contain_text("the day changed after this proposal")
        proposal.get_by_role("button", name="Plan again").click()
        expect(proposal.get_by_role("button", name="Apply this plan")).to_be_visible()

    expect(page.get_by_role("status")).to_contain_text("Plan version")
    expect(page.get_by_role("region", name="Proposed plan")).to_have_count(0)
    changes = page.get_by_role("region", name="Plan changes")
    expect(changes).to_contain_text("re-plan requested in the console")
    changes.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Plan changes").click()
    expect(page.get_by_role("region", name="Plan changes")).to_contain_text("re-plan requested in the console")


def test_a_proposal_the_day_moved_on_from_is_refused_in_place(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    sign_in(page, gateway)
    with page.expect_response(
        lambda r: r.url.endswith("/proposals") and r.request.method == "POST" and r.status == 201,
        timeout=PLANNER_WAIT_MS,
    ) as made:
        page.get_by_role("button", name="Re-plan the day").click()
    proposal_id = made.value.json()["id"]
    proposal = page.get_by_role("region", name="Proposed plan")
    expect(proposal.get_by_role("button", name="Apply this plan")).to_be_visible()
    # meanwhile an emergency comes in and is booked: the day's bookings are no longer what the proposal planned
    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Cold room alarm")
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER), timeout=60) as api:
        for _ in range(60):
            board = api.get("/board").json()
            if any(r["request_id"] == request_id and r["assignment"] for r in board["requests"]):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the emergency was not booked")
        day = board["day"]

    proposal.get_by_role("button", name="Apply this plan").click()
    expect(proposal.get_by_role("alert")).to_contain_text("the day changed after this proposal")
    expect(proposal.get_by_role("button", name="Plan again")).to_be_visible()
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as api:
        # nothing applied: the proposal is still open (the queue's own re-plans go on meanwhile)
        assert api.get(f"/plans/{day}/proposals/{proposal_id}").json()["status"] == "open"
    proposal.get_by_role("button", name="Discard").click()
    expect(page.get_by_role("region", name="Proposed plan")).to_have_count(0)


@contextmanager
def planner_held(database_url: str) -> Iterator[None]:
    """Holds dispatch's planner lock (one plan at a time, db/plans.PLANNER_LOCK) as a long run of the planner would."""
    held, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('dispatch-plan'))")
                held.set()
                await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    worker = threading.Thread(target=lambda: asyncio.run(hold()))
    worker.start()
    try:
        assert held.wait(30), "the planner lock was not taken"
        yield
    finally:
        release.set()
        worker.join(30)


def test_a_replan_asked_while_the_planner_is_busy_waits_for_it_and_says_so(
    page: Page, gateway: str, database_url: str, company: Company
) -> None:
    sign_in(page, gateway)
    with planner_held(database_url):
        page.get_by_role("button", name="Re-plan the day").click()
        # the server waits for the lock a few seconds, then answers 409 with Retry-After: the console says so, retries
        expect(page.get_by_role("status")).to_contain_text("The planner is busy with another plan", timeout=60_000)
        expect(page.get_by_role("button", name="Re-plan the day")).to_be_disabled()
    proposal = page.get_by_role("region", name="Proposed plan")
    expect(proposal).to_contain_text("re-plan requested in the console", timeout=PLANNER_WAIT_MS)
    proposal.get_by_role("button", name="Discard").click()
    expect(page.get_by_role("region", name="Proposed plan")).to_have_count(0)
