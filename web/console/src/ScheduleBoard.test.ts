import { describe, expect, it } from "vitest";
import type { BoardRequest } from "./board";
import { sameRow } from "./ScheduleBoard";
import { board, job } from "./testBoards";

function rowProps(jobs: Map<string, BoardRequest>, technician = 0) {
  const b = board();
  const noop = () => undefined;
  return {
    tech: b.technicians[technician]!,
    jobs,
    day: b.day,
    at: b.at,
    over: false,
    refusal: null,
    onOver: noop,
    onDrop: noop,
    onSelectJob: noop,
    onSelectTech: noop,
  };
}

describe("a technician's row on the schedule board", () => {
  const b = board();
  const jobs = new Map(b.requests.map((r) => [r.request_id, r]));

  it("is not drawn again for a job filed elsewhere", () => {
    const before = rowProps(jobs);
    const withNewJob = new Map(jobs).set("r9", job("r9"));
    expect(sameRow(before, { ...before, jobs: withNewJob })).toBe(true);
  });

  it("is drawn again when a job on its route changed", () => {
    const before = rowProps(jobs);
    const changed = new Map(jobs).set("r2", { ...jobs.get("r2")!, priority: "P1" });
    expect(sameRow(before, { ...before, jobs: changed })).toBe(false);
  });

  it("is drawn again when its own technician, the time or a refusal changed", () => {
    const before = rowProps(jobs);
    expect(sameRow(before, { ...before, tech: { ...before.tech, status: "on_site" } })).toBe(false);
    expect(sameRow(before, { ...before, at: "2030-03-04T07:05:00Z" })).toBe(false);
    expect(sameRow(before, { ...before, refusal: "no skill" })).toBe(false);
  });
});
