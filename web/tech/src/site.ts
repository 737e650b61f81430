/** What contracts tells the technician about the day's sites (access hours, contact, units and their service
 * history): read once online, kept in IndexedDB with the day for the cellar with no signal. */
import type { Day } from "./day";

export interface SiteInfo {
  id: string;
  name: string;
  address: string;
  access_hours?: Record<string, { start: string; end: string }[]> | null;
  contact_name?: string | null;
  contact_phone?: string | null;
}

export interface Unit {
  id: string;
  site_id: string;
  equipment_type: string;
  model: string;
  serial: string;
  installed_on?: string | null;
  warranty_ends_on?: string | null;
  criticality?: string;
}

export interface UnitStep {
  request_id: string;
  kind: string;
  status: string;
  at: string;
  outcome?: string | null;
}

export interface SiteFacts {
  sites: Record<string, SiteInfo>;
  units: Record<string, Unit[]>; // by site
  history: Record<string, UnitStep[]>; // by unit
}

export const NO_FACTS: SiteFacts = { sites: {}, units: {}, history: {} };

async function get<T>(path: string, token: string): Promise<T | null> {
  try {
    const response = await fetch(`${location.origin}/api/contracts${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return response.ok ? ((await response.json()) as T) : null;
  } catch {
    return null;
  }
}

/** The facts of every site of the day; what cannot be read now (no signal, contracts not yet told of a new
 * booking) stays as it was last read. */
export async function readSiteFacts(day: Day, token: string, known: SiteFacts): Promise<SiteFacts> {
  const facts: SiteFacts = { sites: { ...known.sites }, units: { ...known.units }, history: { ...known.history } };
  const siteIds = [...new Set(day.stops.map((s) => s.site.site_id))];
  await Promise.all(
    siteIds.map(async (siteId) => {
      const [site, units] = await Promise.all([
        get<SiteInfo>(`/sites/${siteId}`, token),
        get<Unit[]>(`/sites/${siteId}/equipment`, token),
      ]);
      if (site) facts.sites[siteId] = site;
      if (units) {
        facts.units[siteId] = units;
        await Promise.all(
          units.map(async (unit) => {
            const steps = await get<UnitStep[]>(`/equipment/${unit.id}/history`, token);
            if (steps) facts.history[unit.id] = steps;
          }),
        );
      }
    }),
  );
  return facts;
}

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** The site's access hours on the day ("08:00–20:00"), null when any time, "" when closed that day. */
export function accessOn(site: SiteInfo | undefined, isoDay: string): string | null {
  if (!site?.access_hours) return null;
  const weekday = WEEKDAYS[new Date(`${isoDay}T12:00:00Z`).getUTCDay()]!;
  return (site.access_hours[weekday] ?? []).map((h) => `${h.start.slice(0, 5)}–${h.end.slice(0, 5)}`).join(", ");
}
