"""Plays a scenario through the real services' public APIs on the shared simulated clock.

Technicians act only through the technician API (/me/...): they read their day, accept, drive at the
travel model's speed sending position pings, arrive, work (sometimes longer than planned), report, take
lunch; one calls in sick. Customers file the scenario's emergencies through the customer API with an
Idempotency-Key, cancel a few, and answer the surveys of completed jobs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np

from bench.day.scenario import TZ, Emergency, Scenario, job_behaviour, satisfaction
from deploy.local.company.generator import Company
from deploy.local.company.seeder import SeededCompany, idempotency_key
from services.dispatch.planning.travel import RoadFactorTravel
from shared.auth import Role
from shared.clock import Clock

__all__ = ["Player", "PlayerStats"]

log = logging.getLogger("bench.day")

PING_EVERY_S = 180.0  # a position every three simulated minutes while driving
IDLE_POLL_S = 300.0  # an idle technician looks at the day again every five simulated minutes
LOOKAHEAD_S = 600.0  # someone waiting to leave re-reads the day at least this often (emergencies come in)

Token = Callable[..., str]


@dataclass
class PlayerStats:
    jobs_done: int = 0
    jobs_failed: int = 0
    filed: dict[int, str] = field(default_factory=dict)  # emergency index -> request id
    cancelled: set[str] = field(default_factory=set)
    rated: set[str] = field(default_factory=set)
    errors: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # "METHOD /path/{id} -> status: detail", how often


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def refusal(method: str, url: str, response: httpx.Response) -> str:
    """One line per kind of refusal: the path with its ids left out, the status and the problem's detail."""
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text
    return f"{method} {_ID.sub('{id}', httpx.URL(url).path)} -> {response.status_code}: {_ID.sub('{id}', detail)[:120]}"


class Player:
    def __init__(
        self,
        scenario: Scenario,
        company: Company,
        seeded: SeededCompany,
        urls: dict[str, str],
        token: Token,
        clock: Clock,
        travel: RoadFactorTravel | None = None,
        progress: bool = True,
    ) -> None:
        self.scenario = scenario
        self.company = company
        self.seeded = seeded
        self.urls = urls
        self.token = token
        self.clock = clock
        self.travel = travel or RoadFactorTravel()
        self.progress = progress
        self.stats = PlayerStats()
        self.sick: set[str] = set()
        self.dispatcher = token(Role.DISPATCHER, "day-dispatcher")
        # idle connections are dropped before uvicorn closes them (5 s), or a request races the close and fails
        limits = httpx.Limits(max_connections=60, keepalive_expiry=3.0)
        self.client = httpx.AsyncClient(timeout=60, limits=limits)

    # --- time -------------------------------------------------------------------------------------------
    async def until(self, moment: datetime) -> None:
        seconds = (moment - self.clock.now()).total_seconds()
        if seconds > 0:
            await self.clock.sleep(seconds)

    async def nap(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time, but never past the end of the day (the player stops then)."""
        left = (self.scenario.day_end - self.clock.now()).total_seconds()
        if min(seconds, left) > 0:
            await self.clock.sleep(min(seconds, left))

    def over(self) -> bool:
        return self.clock.now() >= self.scenario.day_end

    def drive_seconds(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(self.travel.durations_between(np.array([a]), np.array([b]))[0, 0])

    # --- the day ------------------------------------------------------------------------------------------
    async def run(self) -> PlayerStats:
        tasks = [asyncio.create_task(self.technician(name)) for name in self.scenario.technicians]
        tasks += [asyncio.create_task(self.file(e)) for e in self.scenario.emergencies]
        tasks.append(asyncio.create_task(self.sick_call()))
        tasks.append(asyncio.create_task(self.surveys()))
        ticker = asyncio.create_task(self.ticker())
        # every actor stops at the end of the day; one still waiting on a call then is cancelled
        real_s = (self.scenario.day_end - self.clock.now()).total_seconds() / self.clock.speed + 30.0
        try:
            _done, stuck = await asyncio.wait(tasks, timeout=max(real_s, 30.0))
            for task in stuck:
                log.warning("still busy at the end of the day, cancelled: %s", task)
                task.cancel()
            for task in _done:
                if task.exception() is not None:
                    log.error("an actor failed", exc_info=task.exception())
        finally:
            ticker.cancel()
            await self.client.aclose()
            if self.progress:
                print(file=sys.stderr, flush=True)
                for line, times in self.stats.refused.most_common():
                    print(f"  refused {times}x: {line}", file=sys.stderr, flush=True)
        return self.stats

    async def ticker(self) -> None:
        while True:
            now = self.clock.now().astimezone(TZ)
            open_ = len(self.stats.filed) - len(self.stats.cancelled) - len(self.stats.rated)
            line = (
                f"\r  {now:%H:%M} simulated · jobs done {self.stats.jobs_done} (failed {self.stats.jobs_failed})"
                f" · emergencies filed {len(self.stats.filed)}/{len(self.scenario.emergencies)}, open {open_}"
                f" · cancelled {len(self.stats.cancelled)} · errors {self.stats.errors}   "
            )
            if self.progress:
                print(line, end="", file=sys.stderr, flush=True)
            await asyncio.sleep(1.0)

    async def _call(self, method: str, url: str, token: str, **kwargs: Any) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        for attempt in range(3):
            try:
                response = await self.client.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                log.warning("%s %s: %s %s (attempt %s)", method, url, type(exc).__name__, exc, attempt + 1)
                await asyncio.sleep(0.5)
                continue
            if response.status_code >= 500:
                await asyncio.sleep(0.5)
                continue
            if response.status_code >= 400:
                log.info("%s %s -> %s %s", method, url, response.status_code, response.text[:200])
                self.stats.errors += 1
                self.stats.refused[refusal(method, url, response)] += 1
            return response
        self.stats.errors += 1
        return None

    # --- technicians -------------------------------------------------------------------------------------
    async def technician(self, name: str) -> None:
        spec = next(t for t in self.company.technicians if t.name == name)
        tech_id = self.seeded.technicians[name]
        token = self.token(Role.TECHNICIAN, f"tech-{tech_id}", technician_id=uuid.UUID(tech_id))
        me = f"{self.urls['dispatch']}/me"
        where = (spec.lat, spec.lon)
        lunch_taken = False
        ordinal = 0
        day = self.scenario.day.isoformat()
        while not self.over() and name not in self.sick:
            now = self.clock.now()
            local = now.astimezone(TZ)
            response = await self._call("GET", f"{me}/day", token, params={"day": day})
            stops = response.json()["stops"] if response is not None and response.status_code == 200 else []
            ahead = sorted(
                (s for s in stops if s["assignment"]["status"] in ("offered", "accepted", "en_route", "on_site")),
                key=lambda s: s["assignment"]["planned_start"],
            )
            if not lunch_taken and local.hour >= 12 and (not ahead or ahead[0]["assignment"]["status"] != "on_site"):
                lunch_taken = True
                await self.command(me + "/break", token, {"on_break": True, "minutes": 45, "position": _pt(where)})
                await self.nap(45 * 60)
                await self.command(me + "/break", token, {"on_break": False, "position": _pt(where)})
                continue
            if not ahead:
                if local.hour >= 18:
                    break
                await self.nap(IDLE_POLL_S)
                continue
            stop = ahead[0]
            a = stop["assignment"]
            assignment_id = a["id"]
            site = (stop["site"]["location"]["lat"], stop["site"]["location"]["lon"])
            drive = self.drive_seconds(where, site)
            if a["status"] == "offered":
                await self.command(f"{me}/assignments/{assignment_id}/accept", token, {"position": _pt(where)})
            if a["status"] in ("offered", "accepted"):
                leave = _at(a["eta"]) - timedelta(seconds=drive)
                wait = (leave - self.clock.now()).total_seconds()
                if wait > 1:
                    await self.nap(min(wait, LOOKAHEAD_S))
                    continue
                if name in self.sick:
                    break
                moved = await self.command(
                    f"{me}/assignments/{assignment_id}/status", token, {"status": "en_route", "position": _pt(where)}
                )
                if moved is None:
                    continue
                where = await self.drive(me, token, where, site, drive)
                if (
                    await self.command(
                        f"{me}/assignments/{assignment_id}/status", token, {"status": "on_site", "position": _pt(where)}
                    )
                    is None
                ):
                    continue
            ordinal += 1
            behaviour = job_behaviour(self.scenario.seed, name, ordinal)
            planned = (_at(a["planned_end"]) - _at(a["planned_start"])).total_seconds()
            await self.nap(max(600.0, planned * behaviour.duration_factor))
            if self.over():
                break  # the day ends with this job unfinished
            report: dict[str, Any] = {"outcome": behaviour.outcome, "position": _pt(where)}
            if behaviour.outcome == "completed":
                report |= {"work_done": "serviced; temperatures back in range", "signed_by": "Site manager"}
            else:
                report |= {"notes": "compressor contactor burnt: part to be ordered"}
            done = await self.command(f"{me}/assignments/{assignment_id}/report", token, report)
            if done is not None:
                if behaviour.outcome == "completed":
                    self.stats.jobs_done += 1
                else:
                    self.stats.jobs_failed += 1
        if name not in self.sick and not self.over():
            home = (spec.lat, spec.lon)
            await self.drive(me, token, where, home, self.drive_seconds(where, home))

    async def command(self, url: str, token: str, body: dict[str, Any]) -> dict[str, Any] | None:
        body = {"client_command_id": str(uuid.uuid4()), "at": self.clock.now().isoformat(), **body}
        response = await self._call("POST", url, token, json=body)
        if response is None or response.status_code >= 400:
            return None
        answer: dict[str, Any] = response.json()
        return answer

    async def drive(
        self, me: str, token: str, start: tuple[float, float], end: tuple[float, float], seconds: float
    ) -> tuple[float, float]:
        """Drive from ``start`` to ``end`` in ``seconds`` of simulated time, pinging along the straight line about
        every PING_EVERY_S. The drive keeps to the clock, not to the pings: a slow answer (a loaded machine, a
        re-plan holding a core) delays the next ping, never the arrival. Each ping is sent after its nap and says
        where the car is by then; at 180x a second of latency per ping had stretched a 90-minute drive by half."""
        departed = self.clock.now()
        arrival = departed + timedelta(seconds=seconds)
        while not self.over():
            now = self.clock.now()
            await self.nap(min(PING_EVERY_S, (arrival - now).total_seconds()))
            now = self.clock.now()
            if self.over():
                break
            f = min(1.0, (now - departed).total_seconds() / seconds) if seconds > 0 else 1.0
            point = (start[0] + (end[0] - start[0]) * f, start[1] + (end[1] - start[1]) * f)
            ping = {"at": now.isoformat(), "position": _pt(point), "accuracy_m": 10}
            await self._call(
                "POST", f"{me}/positions", token, json={"client_command_id": str(uuid.uuid4()), "pings": [ping]}
            )
            if f >= 1.0:
                break
        return end

    async def sick_call(self) -> None:
        name, at = self.scenario.sick_technician, self.scenario.sick_at
        if name is None or at is None:
            return
        await self.until(at)
        self.sick.add(name)
        tech_id = self.seeded.technicians[name]
        await self._call(
            "POST",
            f"{self.urls['dispatch']}/technicians/{tech_id}/absences",
            self.dispatcher,
            json={
                "kind": "sickness",
                "starts_at": self.clock.now().isoformat(),
                "ends_at": self.scenario.day_end.isoformat(),
                "note": "called in sick",
            },
        )

    # --- customers ---------------------------------------------------------------------------------------
    def customer_token(self, customer_ref: str) -> str:
        customer_id = self.seeded.customers[customer_ref]
        return self.token(Role.CUSTOMER, f"customer-{customer_ref}", customer_id=uuid.UUID(customer_id))

    async def file(self, emergency: Emergency) -> None:
        await self.until(emergency.at)
        token = self.customer_token(emergency.customer_ref)
        site = next(s for s in self.company.sites if s.ref == emergency.site_ref)
        body: dict[str, Any] = {
            "site_id": self.seeded.sites[emergency.site_ref],
            "kind": "emergency",
            "description": emergency.description,
            "contact": {"name": site.contact_name, "phone": site.contact_phone},
        }
        if emergency.serial is not None:
            body["equipment_id"] = self.seeded.equipment[emergency.serial]
        key = idempotency_key(self.scenario.seed, self.scenario.day, emergency.index)
        response = await self._call(
            "POST", f"{self.urls['requests']}/requests", token, json=body, headers={"Idempotency-Key": key}
        )
        if response is None or response.status_code >= 400:
            return
        request_id = str(response.json()["id"])
        self.stats.filed[emergency.index] = request_id
        if emergency.cancel_after is not None and emergency.at + emergency.cancel_after < self.scenario.day_end:
            await self.until(emergency.at + emergency.cancel_after)
            current = await self._call("GET", f"{self.urls['requests']}/requests/{request_id}", token)
            if (
                current is not None
                and current.status_code == 200
                and current.json()["status"]
                not in (
                    "on_site",
                    "completed",
                    "failed",
                )
            ):
                cancelled = await self._call(
                    "POST",
                    f"{self.urls['requests']}/requests/{request_id}/cancel",
                    token,
                    json={"reason": "fixed it ourselves (breaker reset)"},
                )
                if cancelled is not None and cancelled.status_code < 400:
                    self.stats.cancelled.add(request_id)

    async def surveys(self) -> None:
        """Every quarter of an hour, customers rate the emergencies completed since."""
        while True:
            last_round = self.over()
            for index, request_id in list(self.stats.filed.items()):
                if request_id in self.stats.rated or request_id in self.stats.cancelled:
                    continue
                emergency = self.scenario.emergencies[index]
                token = self.customer_token(emergency.customer_ref)
                detail = await self._call("GET", f"{self.urls['requests']}/requests/{request_id}", token)
                if detail is None or detail.status_code != 200 or detail.json()["status"] != "completed":
                    continue
                survey = await self._call("GET", f"{self.urls['requests']}/requests/{request_id}/survey", token)
                if survey is None or survey.status_code != 200:
                    continue
                body = detail.json()
                arrived = next((_at(t["at"]) for t in body.get("timeline", []) if t["status"] == "on_site"), None)
                due = _at(body["response_due"]) if body.get("response_due") else None
                late = (arrived - due).total_seconds() / 60 if arrived and due else 0.0
                csat, nps = satisfaction(self.scenario.seed, f"{self.scenario.day}:{index}", late, True)
                answered = await self._call(
                    "POST",
                    f"{self.urls['requests']}/requests/{request_id}/survey",
                    token,
                    json={"csat": csat, "nps": nps, "comment": "on time, thank you" if late <= 0 else "came late"},
                )
                if answered is not None and answered.status_code < 400:
                    self.stats.rated.add(request_id)
            if last_round:
                return
            await self.nap(900)


def _pt(point: tuple[float, float]) -> dict[str, float]:
    return {"lat": round(point[0], 6), "lon": round(point[1], 6)}


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
