"""A dispatcher at the console, in Chromium, against the real services: what a user does and sees."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from shared.auth import Role
from tests.browser.conftest import screenshot
from tests.conftest import Keys
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
            json={
                "customer_id": customer["id"],
                "contract_type": "full_maintenance",
                "starts_on": "2026-01-01",
                "site_ids": [site["id"]],
                "sla": [
                    {
                        "priority": "P1",
                        "response_minutes": 240,
                        "fix_minutes": 480,
                        "required_skills": [{"skill": "refrigeration", "min_level": 2}],
                    }
                ],
            },
        ).json()
        assert contracts.post(f"/contracts/{contract['id']}/activate").json()["status"] == "active"
    return customer["id"], site["id"]


def _technician(stack: Stack, keys: Keys, name: str, lat: float, lon: float, skills: dict[str, int]) -> str:
    with httpx.Client(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        response = dispatch.post(
            "/technicians", json={"name": name, "skills": skills, "home_base": {"lat": lat, "lon": lon}}
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
    # read who has it once the placement has answered (it always books someone, late if need be): a drag
    # onto the technician the placement then chose would move nothing
    expect(job(page, request_id)).not_to_have_attribute("data-technician-id", "")
    origin = job(page, request_id).get_attribute("data-technician-id")
    target = company.ivan if origin == company.anna else company.anna

    job(page, request_id).drag_to(page.get_by_test_id(f"row-{target}").locator(".track"))

    expect(page.get_by_role("status")).to_have_text("Moved")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", target)
    page.reload()
    expect(job(page, request_id)).to_have_attribute("data-technician-id", target)


def test_a_drag_that_breaks_a_rule_shows_the_servers_reason_and_changes_nothing(
    page: Page, gateway: str, stack: Stack, keys: Keys, company: Company
) -> None:
    request_id = _file_emergency(stack, keys, company.customer_id, company.site_id, "Display case warm")
    sign_in(page, gateway)
    expect(job(page, request_id)).to_be_visible()
    expect(job(page, request_id)).not_to_have_attribute("data-technician-id", "")
    origin = job(page, request_id).get_attribute("data-technician-id")

    # Oleg has no refrigeration skill: the server refuses.
    job(page, request_id).drag_to(page.get_by_test_id(f"row-{company.oleg}").locator(".track"))

    refusal = page.get_by_test_id(f"row-{company.oleg}").get_by_role("alert")
    expect(refusal).to_contain_text("The server refused")
    screenshot(page, "console-refused.png")
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(origin))
    page.reload()
    expect(job(page, request_id)).to_have_attribute("data-technician-id", str(origin))


def test_the_console_speaks_russian_and_english(page: Page, gateway: str, company: Company) -> None:
    sign_in(page, gateway)

    page.get_by_role("button", name="RU").click()
    expect(page.get_by_role("heading", name="Диспетчерская")).to_be_visible()
    expect(page.get_by_text("Время компании: Europe/Simferopol")).to_be_visible()
    expect(page.get_by_text("Симферополь")).to_be_visible()
    screenshot(page, "console-ru.png")
    page.reload()
    expect(page.get_by_role("heading", name="Диспетчерская")).to_be_visible()

    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", name="Dispatcher console")).to_be_visible()
    expect(page.get_by_text("Simferopol", exact=True)).to_be_visible()


def test_a_dispatcher_replans_the_day_and_reads_what_moved(page: Page, gateway: str, company: Company) -> None:
    sign_in(page, gateway)

    page.get_by_role("button", name="Re-plan the day").click()

    expect(page.get_by_role("status")).to_contain_text("Plan version")
    changes = page.get_by_role("region", name="Plan changes")
    expect(changes).to_contain_text("re-plan requested in the console")
    changes.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Plan changes").click()
    expect(page.get_by_role("region", name="Plan changes")).to_contain_text("re-plan requested in the console")
