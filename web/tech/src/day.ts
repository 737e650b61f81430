import type { DispatchComponents } from "@fieldline/shared";

/* GET /me/day as the service's OpenAPI document declares it (services/dispatch/api/desk_schemas.py). */
type Schemas = DispatchComponents["schemas"];
export type Assignment = Schemas["AssignmentOut"];
export type PastVisit = Schemas["PastVisit"];
export type Stop = Schemas["DayStop"];
export type Day = Schemas["TechnicianDayOut"];

export function stopName(stop: Stop): string {
  return stop.site.address || stop.description || stop.request_id.slice(0, 8);
}

/** `geo:` opens the phone's maps app at the site (Android; iOS offers its maps for it too). */
export function geoUri(stop: Stop): string {
  const { lat, lon } = stop.site.location;
  const label = encodeURIComponent(stopName(stop));
  return `geo:${lat},${lon}?q=${lat},${lon}(${label})`;
}

/** What changed between two loads of the day, for a notice: new stops, moved ones, ones taken away. */
export function dayChanges(before: Day, after: Day): { kind: "new" | "moved" | "gone"; stop: Stop }[] {
  const old = new Map(before.stops.map((s) => [s.assignment.id, s]));
  const now = new Map(after.stops.map((s) => [s.assignment.id, s]));
  const changes: { kind: "new" | "moved" | "gone"; stop: Stop }[] = [];
  for (const stop of after.stops) {
    const was = old.get(stop.assignment.id);
    if (!was) changes.push({ kind: "new", stop });
    else if (was.assignment.planned_start !== stop.assignment.planned_start) changes.push({ kind: "moved", stop });
  }
  for (const stop of before.stops) {
    if (!now.has(stop.assignment.id) && !["completed", "failed", "declined"].includes(stop.assignment.status)) {
      changes.push({ kind: "gone", stop });
    }
  }
  return changes;
}

export const CHECKLISTS: Record<string, string[]> = {
  planned: ["check_temps", "check_condenser", "check_seals", "check_pressure", "check_drain"],
  emergency: ["check_fault", "check_back_to_temp", "check_clean"],
  routine: ["check_fault", "check_back_to_temp", "check_clean"],
};
