/** The board kept live from the dispatchers' stream: each frame is applied to the board on screen at once, and the
 * frames that change more than they carry (SLA clocks, placement, the technician's status) also ask for a reconcile
 * read of `GET /board`, which stays the truth. Pure: no I/O, no clock but the one passed in. */
import { companyDay } from "@fieldline/shared";
import type { Board, BoardRequest, BoardTechnician, Booking } from "./board";

export interface Frame {
  event: string;
  data: string;
}

export interface Applied {
  board: Board;
  /** false when only a read of the board tells the rest (the server's SLA judgement, placement, statuses) */
  complete: boolean;
}

type Facts = Record<string, unknown>;
type Point = { lat: number; lon: number };

/** Statuses a booking leaves the technician's row with (the board lists none declined or cancelled). */
const OFF_ROUTE = new Set(["declined", "cancelled"]);

/** `board` with `frame` applied; the same object when the frame changes nothing on it. `now` (ms since the epoch)
 * starts the SLA clock of a new job until the reconcile read brings the server's. */
export function applyFrame(board: Board, frame: Frame, now: number): Applied {
  let facts: Facts;
  try {
    facts = JSON.parse(frame.data) as Facts;
  } catch {
    return { board, complete: false };
  }
  switch (frame.event) {
    case "technician.moved":
      return { board: moved(board, facts), complete: true };
    case "request.created":
      return { board: created(board, facts, now), complete: false };
    case "request.cancelled":
      return { board: withoutRequest(board, String(facts.request_id)), complete: false };
    case "assignment.created":
    case "assignment.changed":
      return { board: booked(board, facts), complete: false };
    case "assignment.status_changed":
      return { board: stepped(board, facts), complete: false };
    default:
      return { board, complete: false };
  }
}

/** `next` (a fresh read of the board) with every technician and job that did not change kept as the very object
 * already on screen, and the lists themselves kept when nothing in them changed: React then draws again only
 * what the read changed, not all 120 rows and 1,000 marks. */
export function keepUnchanged(previous: Board | null, next: Board): Board {
  if (!previous) return next;
  const technicians = reuse(previous.technicians, next.technicians, (t) => t.id);
  const requests = reuse(previous.requests, next.requests, (r) => r.request_id);
  return { ...next, technicians, requests };
}

function reuse<T extends object>(previous: T[], next: T[], key: (item: T) => string): T[] {
  const known = new Map(previous.map((item) => [key(item), item]));
  let same = previous.length === next.length;
  const kept = next.map((item, i) => {
    const old = known.get(key(item));
    const keep = old !== undefined && JSON.stringify(old) === JSON.stringify(item) ? old : item;
    same &&= keep === previous[i];
    return keep;
  });
  return same ? previous : kept;
}

function moved(board: Board, facts: Facts): Board {
  const position = facts.position as Point | undefined;
  const at = typeof facts.at === "string" ? facts.at : null;
  if (!position || !at) return board;
  return mapTechnicians(board, String(facts.technician_id), (tech) =>
    tech.position_at && Date.parse(tech.position_at) >= Date.parse(at)
      ? tech // an older fix than the one shown
      : { ...tech, lat: position.lat, lon: position.lon, position_at: at },
  );
}

function created(board: Board, facts: Facts, now: number): Board {
  const requestId = String(facts.request_id);
  if (board.requests.some((r) => r.request_id === requestId)) return board;
  const location = facts.location as Point | undefined;
  const responseDue = (facts.response_due as string | null) ?? null;
  const windows = (facts.preferred_windows as { start: string; end: string }[] | undefined) ?? [];
  const job: BoardRequest = {
    request_id: requestId,
    customer_id: String(facts.customer_id),
    site_id: String(facts.site_id),
    kind: String(facts.kind),
    priority: String(facts.priority),
    required_skills: (facts.required_skills as BoardRequest["required_skills"] | undefined) ?? [],
    response_due: responseDue,
    fix_due: (facts.fix_due as string | null) ?? null,
    duration_minutes: Number(facts.estimated_duration_minutes ?? 60),
    status: "open", // as dispatch names a job nobody is booked to yet
    unplaceable_reason: null,
    created_at: String(facts.created_at),
    window_start: windows[0]?.start ?? null,
    window_end: windows.length ? windows[windows.length - 1]!.end : null,
    contract_id: (facts.contract_id as string | null) ?? null,
    equipment_ids: facts.equipment_id ? [String(facts.equipment_id)] : [],
    address: (facts.address as string | undefined) || null,
    description: (facts.description as string | undefined) ?? null,
    bundled_with: null,
    contact_name: (facts.contact_name as string | undefined) || null,
    contact_phone: (facts.contact_phone as string | undefined) || null,
    lat: location?.lat ?? null,
    lon: location?.lon ?? null,
    assignment: null,
    minutes_left: responseDue ? (Date.parse(responseDue) - now) / 60_000 : null,
    predicted_arrival: null,
    at_risk: false,
  };
  return { ...board, requests: [...board.requests, job] };
}

function withoutRequest(board: Board, requestId: string): Board {
  if (!board.requests.some((r) => r.request_id === requestId)) return board;
  return {
    ...board,
    requests: board.requests.filter((r) => r.request_id !== requestId),
    technicians: board.technicians.map((tech) =>
      tech.route.some((b) => b.request_id === requestId)
        ? { ...tech, route: tech.route.filter((b) => b.request_id !== requestId) }
        : tech,
    ),
  };
}

/** A booking made or moved: off its previous technician's row, onto its technician's (in planned-start order),
 * and on its job. A booking on another day than the board's stays off the rows, as the server shows it. */
function booked(board: Board, facts: Facts): Board {
  const id = String(facts.assignment_id);
  const requestId = String(facts.request_id);
  const job = board.requests.find((r) => r.request_id === requestId);
  const before = job?.assignment?.id === id ? job.assignment : findBooking(board, id);
  const booking: Booking = {
    ...(before ?? { version: 0, locked: false }),
    id,
    request_id: requestId,
    technician_id: String(facts.technician_id),
    customer_id: String(facts.customer_id),
    status: String(facts.status),
    planned_start: String(facts.planned_start),
    planned_end: String(facts.planned_end),
    eta: String(facts.eta),
    site_lat: before?.site_lat ?? job?.lat ?? (facts.site_location as Point | undefined)?.lat ?? null,
    site_lon: before?.site_lon ?? job?.lon ?? (facts.site_location as Point | undefined)?.lon ?? null,
  };
  const onBoardDay = sameDay(board, booking.planned_start);
  return {
    ...board,
    requests: job
      ? board.requests.map((r) => (r === job ? { ...r, assignment: booking, status: "assigned" } : r))
      : board.requests,
    technicians: board.technicians.map((tech) => {
      const had = tech.route.some((b) => b.id === id);
      const gets = onBoardDay && tech.id === booking.technician_id;
      if (!had && !gets) return tech;
      const route = tech.route.filter((b) => b.id !== id);
      if (gets) route.push(booking);
      route.sort((a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start));
      return { ...tech, route };
    }),
  };
}

/** A status step: the booking shows it; declined or cancelled takes it off the row and off its job. */
function stepped(board: Board, facts: Facts): Board {
  const id = String(facts.assignment_id);
  const status = String(facts.status);
  const change = (b: Booking): Booking => ({
    ...b,
    status,
    eta: typeof facts.eta === "string" ? facts.eta : b.eta,
  });
  const off = OFF_ROUTE.has(status);
  return {
    ...board,
    requests: board.requests.map((r) =>
      r.assignment?.id === id ? (off ? { ...r, assignment: null, status: "open" } : { ...r, assignment: change(r.assignment) }) : r,
    ),
    technicians: board.technicians.map((tech) =>
      tech.route.some((b) => b.id === id)
        ? { ...tech, route: off ? tech.route.filter((b) => b.id !== id) : tech.route.map((b) => (b.id === id ? change(b) : b)) }
        : tech,
    ),
  };
}

function findBooking(board: Board, id: string): Booking | undefined {
  for (const tech of board.technicians) {
    const found = tech.route.find((b) => b.id === id);
    if (found) return found;
  }
  return undefined;
}

function mapTechnicians(board: Board, id: string, change: (tech: BoardTechnician) => BoardTechnician): Board {
  let touched = false;
  const technicians = board.technicians.map((tech) => {
    if (tech.id !== id) return tech;
    const next = change(tech);
    touched ||= next !== tech;
    return next;
  });
  return touched ? { ...board, technicians } : board;
}

/** Whether `instant` falls on the board's day in the company's time zone. */
function sameDay(board: Board, instant: string): boolean {
  return companyDay(new Date(instant)) === board.day;
}
