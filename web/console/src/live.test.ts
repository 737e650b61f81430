import { describe, expect, it } from "vitest";
import { applyFrame, keepUnchanged } from "./live";
import { board, NOW } from "./testBoards";

const frame = (event: string, data: object) => ({ event, data: JSON.stringify(data) });

describe("a technician's position", () => {
  it("moves only that technician, and the frame needs no read of the board", () => {
    const before = board();
    const { board: after, complete } = applyFrame(
      before,
      frame("technician.moved", { technician_id: "anna", position: { lat: 44.6, lon: 33.5 }, at: "2030-03-04T07:00:00Z" }),
      NOW,
    );
    expect(complete).toBe(true);
    expect(after.technicians[0]).toMatchObject({ lat: 44.6, lon: 33.5, position_at: "2030-03-04T07:00:00Z" });
    expect(after.technicians[1]).toBe(before.technicians[1]); // untouched rows keep their identity
    expect(after.requests).toBe(before.requests); // the jobs layer is not drawn again
  });

  it("is not taken back by an older fix, which leaves the board as it was", () => {
    const before = board();
    const older = frame("technician.moved", { technician_id: "anna", position: { lat: 1, lon: 1 }, at: "2030-03-04T06:00:00Z" });
    expect(applyFrame(before, older, NOW).board).toBe(before);
  });
});

describe("a new request", () => {
  const created = {
    request_id: "r9",
    customer_id: "c2",
    site_id: "s9",
    kind: "emergency",
    priority: "P1",
    location: { lat: 45.2, lon: 34.3 },
    covered: true,
    response_due: "2030-03-04T09:00:00Z",
    created_at: "2030-03-04T07:00:00Z",
    description: "freezer down",
    estimated_duration_minutes: 90,
    equipment_id: "e9",
  };

  it("appears at once as a new job with its SLA clock, and asks for a read of the board", () => {
    const { board: after, complete } = applyFrame(board(), frame("request.created", created), NOW);
    expect(complete).toBe(false);
    const shown = after.requests.find((r) => r.request_id === "r9");
    expect(shown).toMatchObject({ priority: "P1", kind: "emergency", status: "open", lat: 45.2, lon: 34.3 });
    expect(shown).toMatchObject({ duration_minutes: 90, equipment_ids: ["e9"], minutes_left: 120, assignment: null });
  });

  it("is shown once however often its frame comes (a replay after a reconnect)", () => {
    const once = applyFrame(board(), frame("request.created", created), NOW).board;
    expect(applyFrame(once, frame("request.created", created), NOW).board).toBe(once);
  });
});

describe("bookings", () => {
  it("move from one technician's row to another's, in planned-start order, and on their job", () => {
    const moved = frame("assignment.changed", {
      assignment_id: "a2",
      request_id: "r2",
      customer_id: "c1",
      technician_id: "ivan",
      previous_technician_id: "anna",
      status: "offered",
      planned_start: "2030-03-04T09:00:00Z",
      planned_end: "2030-03-04T10:00:00Z",
      eta: "2030-03-04T09:00:00Z",
    });
    const after = applyFrame(board(), moved, NOW).board;
    expect(after.technicians[0]!.route.map((b) => b.id)).toEqual(["a1"]);
    expect(after.technicians[1]!.route.map((b) => [b.id, b.planned_start, b.site_lat])).toEqual([
      ["a2", "2030-03-04T09:00:00Z", 45.0],
    ]);
    expect(after.requests[1]!.assignment).toMatchObject({ technician_id: "ivan", status: "offered" });
  });

  it("booked on another day stay off the rows but show on their job", () => {
    const tomorrow = frame("assignment.created", {
      assignment_id: "a9",
      request_id: "r1",
      customer_id: "c1",
      technician_id: "ivan",
      technician_first_name: "Ivan",
      status: "offered",
      planned_start: "2030-03-05T06:00:00Z",
      planned_end: "2030-03-05T07:00:00Z",
      eta: "2030-03-05T06:00:00Z",
    });
    const after = applyFrame(board(), tomorrow, NOW).board;
    expect(after.technicians[1]!.route).toEqual([]);
    expect(after.requests[0]!.assignment?.id).toBe("a9");
  });

  it("show a status step, and a cancelled one leaves the row and its job", () => {
    const step = (status: string) =>
      frame("assignment.status_changed", {
        assignment_id: "a1",
        request_id: "r1",
        customer_id: "c1",
        technician_id: "anna",
        status,
        previous_status: "accepted",
        at: "2030-03-04T07:00:00Z",
        eta: "2030-03-04T07:40:00Z",
      });
    const enRoute = applyFrame(board(), step("en_route"), NOW).board;
    expect(enRoute.technicians[0]!.route[0]).toMatchObject({ status: "en_route", eta: "2030-03-04T07:40:00Z" });
    expect(enRoute.requests[0]!.assignment?.status).toBe("en_route");
    const cancelled = applyFrame(board(), step("cancelled"), NOW).board;
    expect(cancelled.technicians[0]!.route.map((b) => b.id)).toEqual(["a2"]);
    expect(cancelled.requests[0]!.assignment).toBeNull();
    expect(cancelled.requests[0]!.status).toBe("open"); // waiting for a technician again, as dispatch has it
  });
});

describe("other frames", () => {
  it("a cancelled request leaves the board; an unknown or broken frame changes nothing but asks for a read", () => {
    const before = board();
    const gone = applyFrame(before, frame("request.cancelled", { request_id: "r1", cancelled_by: "customer" }), NOW);
    expect(gone.board.requests.map((r) => r.request_id)).toEqual(["r2"]);
    expect(gone.board.technicians[0]!.route.map((b) => b.id)).toEqual(["a2"]);
    expect(applyFrame(before, frame("request.sla_at_risk", { request_id: "r1" }), NOW)).toEqual({
      board: before,
      complete: false,
    });
    expect(applyFrame(before, { event: "technician.moved", data: "{not json" }, NOW)).toEqual({
      board: before,
      complete: false,
    });
  });
});

describe("a fresh read of the board", () => {
  it("keeps what did not change as the objects on screen, and takes what did", () => {
    const shown = board();
    const read = board(); // equal, but new objects
    read.technicians[1] = { ...read.technicians[1]!, status: "en_route" };
    const kept = keepUnchanged(shown, read);
    expect(kept.technicians[0]).toBe(shown.technicians[0]);
    expect(kept.technicians[1]).toBe(read.technicians[1]);
    expect(kept.technicians[1]!.status).toBe("en_route");
    expect(kept.requests).toBe(shown.requests); // no job changed: the same list, the map's marks stay as drawn
    expect(kept.at).toBe(read.at);
  });

  it("takes a new list when a job came or went, keeping the unchanged ones", () => {
    const shown = board();
    const read = board();
    read.requests = [read.requests[1]!];
    const kept = keepUnchanged(shown, read);
    expect(kept.requests).toHaveLength(1);
    expect(kept.requests[0]).toBe(shown.requests[1]);
    expect(keepUnchanged(null, read)).toBe(read);
  });
});
