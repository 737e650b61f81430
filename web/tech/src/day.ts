/** The technician's day as GET /me/day gives it (services/dispatch/api/mobile.py), and what the app derives. */
export interface Assignment {
  id: string;
  request_id: string;
  status: string;
  planned_start: string;
  planned_end: string;
  eta: string;
  arrived_at?: string | null;
  finished_at?: string | null;
  outcome?: string | null;
}

export interface PastVisit {
  request_id: string;
  kind: string;
  status: string;
  outcome: string | null;
  finished_at: string | null;
  report: { work_done?: string; notes?: string } | null;
}

export interface Stop {
  assignment: Assignment;
  request_id: string;
  kind: string;
  priority: string;
  site: { site_id: string; address: string | null; location: { lat: number; lon: number } };
  equipment_ids: string[];
  description: string;
  contact: { customer_id: string; name: string; phone: string };
  window: { start: string | null; end: string | null };
  response_due: string | null;
  fix_due?: string | null;
  bundled_with: string | null;
  history: PastVisit[];
}

export interface Day {
  day: string;
  technician_id: string;
  status: string;
  plan_version: number | null;
  server_time?: string;
  stops: Stop[];
}

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
