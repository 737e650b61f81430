"""A contract manager in the workspace (/manage/), in Chromium, against the real services: what a user does and sees."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from dateutil.relativedelta import relativedelta
from playwright.sync_api import Page, expect

from shared.auth import Role
from tests.browser.conftest import ARTEFACTS, screenshot
from tests.conftest import Keys
from tests.support.clock import suite_now
from tests.support.infra import Stack

# Playwright in Chromium against the real stack, like the console's tests (`make test-browser`).
pytestmark = pytest.mark.browser


def _today() -> date:
    """The stack's day in Simferopol: its simulated clock starts at the suite's now."""
    return suite_now().astimezone(ZoneInfo("Europe/Simferopol")).date()


def _visit_day() -> date:
    """A week or so ahead, between the 6th and the 28th: a monthly BYMONTHDAY whose ±5-day window stays in its month."""
    day = _today() + timedelta(days=7)
    while not 6 <= day.day <= 28:
        day += timedelta(days=1)
    return day


def _shown(day: date) -> str:
    """A day as the workspace writes it in English ("Dec 15, 2026")."""
    return f"{day:%b} {day.day}, {day.year}"


def sign_in(page: Page, gateway: str) -> None:
    page.goto(f"{gateway}/manage/")
    page.get_by_role("button", name="Demo contract manager").click()
    expect(page.get_by_role("heading", name="Contract manager workspace")).to_be_visible()


def test_a_manager_sets_up_a_customer_and_a_contract_and_sees_its_visits_in_the_calendar(
    page: Page, gateway: str, stack: Stack, keys: Keys
) -> None:
    customer = f"Kerch Fish {uuid.uuid4().hex[:6]}"
    visit = _visit_day()
    starts_on = visit.replace(day=1)
    sign_in(page, gateway)

    # a customer, its site placed on the map, a unit at the site
    new_customer = page.get_by_role("form", name="New customer")
    new_customer.get_by_label("Name").fill(customer)
    new_customer.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name=customer)).to_be_visible()

    new_site = page.get_by_role("form", name="New site")
    new_site.get_by_label("Name").fill("Harbour store")
    new_site.get_by_label("Address").fill("Portovaya 3, Kerch")
    new_site.get_by_test_id("site-map").click(position={"x": 200, "y": 100})
    expect(new_site.get_by_label("Latitude")).not_to_have_value("")  # the click placed it
    new_site.get_by_label("Latitude").fill("45.357")
    new_site.get_by_label("Longitude").fill("36.468")
    new_site.get_by_label("Access hours").fill("mon-fri 08:00-20:00; sat 10:00-14:00")
    new_site.get_by_label("Contact").fill("Olga")
    new_site.get_by_role("button", name="Create site").click()
    units = page.get_by_label("Equipment at Harbour store")
    expect(units).to_be_visible()
    new_unit = units.get_by_role("form", name="New unit")
    new_unit.get_by_label("Type").fill("ice_machine")
    new_unit.get_by_label("Model").fill("Brema CB 184")
    serial = uuid.uuid4().hex[:10]
    new_unit.get_by_label("Serial").fill(serial)
    new_unit.get_by_label("Criticality").select_option("high")
    new_unit.get_by_role("button", name="Add unit").click()
    expect(units.get_by_role("cell", name="Brema CB 184")).to_be_visible()

    # a full-maintenance contract for it
    page.get_by_role("navigation").get_by_role("button", name="Contracts").click()
    page.get_by_role("button", name="New contract").click()
    form = page.get_by_role("form", name="New contract")
    form.get_by_label("Find a customer").fill(customer)
    form.get_by_role("button", name=customer).click()
    expect(form.get_by_label("Harbour store")).to_be_checked()
    form.get_by_label(f"ice_machine Brema CB 184 {serial}").check()  # this unit only, not the whole site
    form.get_by_label("Starts on").fill(starts_on.isoformat())
    form.get_by_label("Response P1").fill("120")
    form.get_by_label("Emergency call-outs included").fill("2")
    form.get_by_label("…emergencies counted per").select_option("month")  # two a month, not twelve a year
    form.get_by_role("button", name="Create contract").click()
    contract = page.get_by_role("region", name="Contract", exact=True)
    expect(contract.get_by_test_id("contract-status")).to_have_text("draft")
    expect(contract).to_contain_text("Harbour store")
    expect(contract).to_contain_text("2/month")

    # a quarterly schedule, built in words, previewed by the service
    builder = contract.get_by_role("form", name="New schedule")
    builder.get_by_label("Day of the month").select_option(str(visit.day))
    expect(builder.get_by_test_id("rule-in-words")).to_have_text(f"every 3 months on day {visit.day}")
    expect(builder.get_by_test_id("rrule")).to_have_text(f"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY={visit.day}")
    builder.get_by_label("Tolerance ± days").fill("5")
    preview = builder.get_by_test_id("schedule-preview").get_by_role("listitem")
    expect(preview).to_have_count(6)
    expect(preview.first).to_contain_text(_shown(visit))
    window = f"window {_shown(visit - timedelta(days=5))} \u2013 {_shown(visit + timedelta(days=5))}"
    expect(preview.first).to_contain_text(window)
    expect(preview.nth(1)).to_contain_text(_shown(visit + relativedelta(months=3)))
    builder.get_by_role("button", name="Add schedule").click()
    expect(contract.get_by_role("cell", name=f"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY={visit.day}")).to_be_visible()
    page.get_by_role("button", name="RU", exact=True).click()  # the same rule in Russian words, with Russian plurals
    words = page.get_by_role("form", name="Новый график").get_by_test_id("rule-in-words")
    expect(words).to_have_text(f"каждые 3 месяца {visit.day}-го числа")  # noqa: RUF001
    page.get_by_role("form", name="Новый график").get_by_label("Интервал").fill("5")
    expect(words).to_have_text(f"каждые 5 месяцев {visit.day}-го числа")  # noqa: RUF001
    page.get_by_role("button", name="EN", exact=True).click()

    # activating shows what it will do first
    contract.get_by_role("button", name="Activate…").click()
    consequences = page.get_by_role("dialog", name="Consequences")
    expect(consequences).to_contain_text("status: draft → active")
    expect(consequences).to_contain_text("visits to be planned: 1")
    consequences.get_by_role("button", name="Confirm: Activate").click()
    expect(contract.get_by_test_id("contract-status")).to_have_text("active")
    expect(contract.get_by_role("region", name="Visits (a month back")).to_contain_text(_shown(visit))
    expect(page.get_by_role("region", name="Contract health")).to_be_visible()
    page.screenshot(path=str(ARTEFACTS / "manage-contract.png"), full_page=True)

    # the visit is in the calendar across contracts
    page.get_by_role("navigation").get_by_role("button", name="Visit calendar").click()
    page.get_by_label("Go to month").fill(f"{visit:%Y-%m}")
    expect(page.get_by_test_id("calendar-title")).to_have_text(f"{visit:%B %Y}")
    day = page.locator(f'[data-day="{visit.isoformat()}"]')
    chip = day.get_by_role("button", name=f"{customer} · Harbour store")
    expect(chip).to_be_visible()
    screenshot(page, "manage-calendar.png")
    page.get_by_role("button", name="Week").click()  # the week of the month's first day, then on to the visit's
    monday = starts_on - timedelta(days=starts_on.weekday())
    for _ in range((visit - monday).days // 7):
        page.get_by_role("button", name="Next", exact=True).click()
    expect(page.locator("[data-day]")).to_have_count(7)
    expect(chip).to_be_visible()

    # the calendar's visit opens its contract
    chip.click()
    opened = page.get_by_role("region", name="Contract", exact=True)
    expect(opened.get_by_test_id("contract-status")).to_have_text("active")
    expect(opened).to_contain_text("Harbour store")
    expect(opened.get_by_role("region", name="Contract health")).to_contain_text("Quota use")
    screenshot(page, "manage-contract.png", full_page=True)

    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        [stored] = contracts.get("/customers", params={"q": customer}).json()
        [agreement] = contracts.get("/contracts", params={"customer_id": stored["id"]}).json()
        assert agreement["sla"][0] == {
            "priority": "P1",
            "response_minutes": 120,
            "fix_minutes": 480,
            "required_skills": [],
            # the workspace's form sets no money terms (the contract API does): the planner's defaults apply
            "late_penalty_per_hour": None,
            "visit_value": None,
        }
        assert agreement["business_hours"]["mon"] == [{"start": "09:00:00", "end": "18:00:00"}]
        [unit] = contracts.get("/equipment", params={"q": serial}).json()
        assert agreement["equipment_ids"] == [unit["id"]]


def test_a_csv_with_one_bad_row_is_rejected_in_the_dry_run_and_nothing_is_written(
    page: Page, gateway: str, stack: Stack, keys: Keys
) -> None:
    tag = uuid.uuid4().hex[:6]
    csv = f"external_ref,name\nC-{tag}-1,Yalta Fresh Market\nC-{tag}-2,\nC-{tag}-3,Feodosia Ice\n"
    sign_in(page, gateway)
    page.get_by_role("navigation").get_by_role("button", name="Import and export").click()
    page.get_by_label("What to import").select_option("customers")
    page.get_by_label("CSV file (UTF-8, header row)").set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Check (dry run)").click()

    expect(page.get_by_test_id("import-verdict")).to_have_text("Rejected: 1 errors in 3 rows; nothing was written")
    errors = page.locator("table.errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first.get_by_role("cell").nth(0)).to_have_text("3")
    expect(errors.first.get_by_role("cell").nth(1)).to_have_text("name")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    page.screenshot(path=str(ARTEFACTS / "manage-import-rejected.png"))

    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        assert contracts.get("/customers", params={"q": f"C-{tag}"}).json() == []

    # the corrected file passes the dry run, then imports
    fixed = csv.replace(f"C-{tag}-2,\n", f"C-{tag}-2,Kerch Fish\n")
    page.get_by_label("CSV file (UTF-8, header row)").set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": fixed.encode()}]
    )
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.get_by_test_id("import-verdict")).to_have_text("3 rows checked, no errors: ready to import.")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_test_id("import-verdict")).to_have_text("3 rows imported")
    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        assert len(contracts.get("/customers", params={"q": f"C-{tag}"}).json()) == 3

    # and the export gives them back in the same columns
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Customers").click()
    assert download.value.suggested_filename == "customers.csv"
    exported = Path(download.value.path()).read_text()
    assert exported.startswith("external_ref,name\n") and f"C-{tag}-2,Kerch Fish\n" in exported


def test_public_holidays_are_prefilled_and_the_workspace_speaks_russian(page: Page, gateway: str) -> None:
    sign_in(page, gateway)
    page.get_by_role("navigation").get_by_role("button", name="Contracts").click()
    page.get_by_role("button", name="New contract").click()
    form = page.get_by_role("form", name="New contract")
    form.get_by_label("Starts on").fill("2027-01-01")
    form.get_by_role("button", name="Pre-fill public holidays of 2027").click()
    holidays = form.get_by_role("list", name="Holidays")
    expect(holidays.get_by_role("listitem").filter(has_text="2027-06-12")).to_contain_text("Russia Day")
    holidays.get_by_role("button", name="Remove 2027-06-12").click()
    expect(holidays.get_by_role("listitem").filter(has_text="2027-06-12")).to_have_count(0)
    expect(holidays.get_by_role("listitem").filter(has_text="2027-01-07")).to_be_visible()

    page.get_by_role("button", name="RU", exact=True).click()
    expect(page.get_by_role("heading", name="Договоры и объекты")).to_be_visible()
    expect(page.get_by_role("form", name="Новый договор")).to_be_visible()
    page.get_by_role("navigation").get_by_role("button", name="Календарь визитов").click()
    expect(page.get_by_role("button", name="Неделя")).to_be_visible()
    page.screenshot(path=str(ARTEFACTS / "manage-ru.png"))
    page.get_by_role("button", name="EN", exact=True).click()


def _active_contract_with_two_units(stack: Stack, keys: Keys, name: str, tag: str, starts_on: date) -> str:
    with httpx.Client(base_url=stack.url("contracts"), headers=keys.headers(Role.CONTRACT_MANAGER)) as contracts:
        customer = contracts.post("/customers", json={"name": name}).json()
        site = contracts.post(
            f"/customers/{customer['id']}/sites",
            json={"name": "Market hall", "address": "Lenina 1, Feodosia", "location": {"lat": 45.03, "lon": 35.38}},
        ).json()
        for n in range(2):
            unit = {"equipment_type": "display_case", "model": "Ariada Rimini", "serial": f"{tag}-{n}"}
            assert contracts.post(f"/sites/{site['id']}/equipment", json=unit).status_code == 201
        contract = contracts.post(
            "/contracts",
            json={
                "customer_id": customer["id"],
                "contract_type": "full_maintenance",
                "starts_on": starts_on.isoformat(),
                "site_ids": [site["id"]],
                "sla": [{"priority": "P1", "response_minutes": 240, "fix_minutes": 480}],
            },
        ).json()
        schedule = {"site_id": site["id"], "rrule": "FREQ=MONTHLY;BYMONTHDAY=20", "duration_minutes": 60}
        assert contracts.post(f"/contracts/{contract['id']}/schedules", json=schedule).status_code == 201
        assert contracts.post(f"/contracts/{contract['id']}/activate").status_code == 200
        return str(contract["id"])


def test_a_manager_bulk_edits_units_draws_a_territory_and_suspends_a_contract_after_seeing_what_it_cancels(
    page: Page, gateway: str, stack: Stack, keys: Keys
) -> None:
    tag = uuid.uuid4().hex[:8]
    customer = f"Feodosia Ice {tag[:4]}"
    starts_on = _today().replace(day=1)
    _active_contract_with_two_units(stack, keys, customer, tag, starts_on)
    sign_in(page, gateway)

    # bulk edit: both units found by their serials become critical
    page.get_by_role("navigation").get_by_role("button", name="Equipment").click()
    page.get_by_label("Search by type, model or serial").fill(tag)
    rows = page.locator("table.rows tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label(f"Choose {tag}-0").check()
    page.get_by_label(f"Choose {tag}-1").check()
    bulk = page.get_by_role("form", name="Bulk edit")
    expect(bulk).to_contain_text("2 chosen")
    bulk.get_by_label("Criticality").select_option("critical")
    bulk.get_by_role("button", name="Apply to the chosen units").click()
    expect(rows.filter(has_text="critical")).to_have_count(2)

    # a territory drawn on the map, then renamed
    page.get_by_role("navigation").get_by_role("button", name="Territories").click()
    drawing = page.get_by_test_id("territory-map")
    box = drawing.bounding_box()
    assert box is not None
    scale = box["width"] / 1000  # the map's viewBox is 1000 wide
    for x, y in ((600, 300), (800, 300), (800, 450), (600, 450)):
        drawing.click(position={"x": x * scale, "y": y * scale})
    expect(page.get_by_text("4 corners")).to_be_visible()
    page.get_by_label("Name").fill(f"East {tag}")
    page.get_by_role("button", name="Save").click()
    territory = page.get_by_role("listitem").filter(has_text=f"East {tag}")
    expect(territory).to_be_visible()
    territory.get_by_role("button", name="Edit").click()
    page.get_by_label("Name").fill(f"Feodosia {tag}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("listitem").filter(has_text=f"Feodosia {tag}")).to_be_visible()
    page.screenshot(path=str(ARTEFACTS / "manage-territories.png"))

    # suspending shows the visit it would cancel, and cancels it only when confirmed
    page.get_by_role("navigation").get_by_role("button", name="Customers").click()
    page.get_by_label("Search customers by name or key").fill(customer)
    page.get_by_role("button", name=customer).click()
    page.get_by_role("button", name="Market hall").click()
    edit_site = page.get_by_role("form", name="Site 'Market hall'")
    edit_site.get_by_label("Contact").fill("Irina")
    edit_site.get_by_label("Phone").fill("+7 978 000 00 00")
    edit_site.get_by_label("Access hours").fill("mon-sat 07:00-22:00")
    edit_site.get_by_role("button", name="Save").click()
    expect(page.get_by_role("listitem").filter(has_text="Irina +7 978 000 00 00")).to_contain_text("sat 07:00-22:00")
    page.get_by_role("button", name=f"Full maintenance · {starts_on.isoformat()}").click()
    contract = page.get_by_role("region", name="Contract", exact=True)
    expect(contract.get_by_test_id("contract-status")).to_have_text("active")
    contract.get_by_role("button", name="Suspend…").click()
    consequences = page.get_by_role("dialog", name="Consequences")
    expect(consequences).to_contain_text(re.compile(r"visits to be cancelled: [1-9]"))  # every 20th in 60 days
    consequences.get_by_role("button", name="Cancel").click()
    expect(contract.get_by_test_id("contract-status")).to_have_text("active")
    contract.get_by_role("button", name="Suspend…").click()
    page.get_by_role("dialog", name="Consequences").get_by_role("button", name="Confirm: Suspend").click()
    expect(contract.get_by_test_id("contract-status")).to_have_text("suspended")
    expect(contract.get_by_role("button", name="Activate…")).to_be_visible()

    # terms stay editable while the contract lives; a schedule is retired
    contract.get_by_role("button", name="Edit terms").click()
    terms = page.get_by_role("form", name="Edit terms")
    expect(terms.get_by_label("Response P1")).to_have_value("240")
    terms.get_by_label("Response P1").fill("90")
    terms.get_by_role("button", name="Save terms").click()
    expect(contract.get_by_role("row", name="P1 90 480")).to_be_visible()
    contract.get_by_role("row").filter(has_text="FREQ=MONTHLY;BYMONTHDAY=20").get_by_role(
        "button", name="Retire"
    ).click()
    expect(contract.locator("tr.retired")).to_have_count(1)
