/** Boards for the console's unit tests: two technicians, Anna with two bookings, and their jobs. */
import type { Board, BoardRequest, BoardTechnician, Booking } from "./board";

// 2030-03-04 in Europe/Simferopol (UTC+3): 07:00Z is 10:00 local
export const NOW = Date.parse("2030-03-04T07:00:00Z");

export function technician(id: string, route: Booking[] = []): BoardTechnician {
  return {
    id,
    name: `Tech ${id}`,
    first_name: id,
    skills: {},
    status: "available",
    reported_status: "available",
    active: true,
    on_shift: true,
    home_lat: 44.95,
    home_lon: 34.1,
    lat: 44.95,
    lon: 34.1,
    position_at: "2030-03-04T06:55:00Z",
    weekly_shifts: null,
    territory: null,
    territory_ids: [],
    overtime_minutes: 60,
    route_version: 1,
    break_ends_at: null,
    phone: "",
    absence: null,
    shift: null,
    break_due: null,
    break_taken: null,
    route,
  };
}

export function booking(id: string, requestId: string, technicianId: string, start: string): Booking {
  const end = new Date(Date.parse(start) + 3_600_000).toISOString();
  return {
    id,
    request_id: requestId,
    technician_id: technicianId,
    customer_id: "c1",
    status: "accepted",
    planned_start: start,
    planned_end: end,
    eta: start,
    version: 1,
    locked: false,
    site_lat: 45.0,
    site_lon: 34.0,
  };
}

export function job(requestId: string, assignment: Booking | null = null): BoardRequest {
  return {
    request_id: requestId,
    customer_id: "c1",
    site_id: "s1",
    kind: "routine",
    priority: "P3",
    required_skills: [],
    response_due: null,
    fix_due: null,
    duration_minutes: 60,
    status: assignment ? "assigned" : "open",
    unplaceable_reason: null,
    created_at: "2030-03-04T06:00:00Z",
    window_start: null,
    window_end: null,
    contract_id: null,
    equipment_ids: [],
    address: null,
    description: null,
    bundled_with: null,
    contact_name: null,
    contact_phone: null,
    territory_id: null,
    lat: 45.0,
    lon: 34.0,
    assignment,
    minutes_left: null,
    predicted_arrival: null,
    at_risk: false,
  };
}

export function board(): Board {
  const b1 = booking("a1", "r1", "anna", "2030-03-04T08:00:00Z");
  const b2 = booking("a2", "r2", "anna", "2030-03-04T10:00:00Z");
  return {
    at: "2030-03-04T07:00:00Z",
    day: "2030-03-04",
    technicians: [technician("anna", [b1, b2]), technician("ivan")],
    requests: [job("r1", b1), job("r2", b2)],
  };
}
