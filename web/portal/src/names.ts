import type { Cover } from "./App";

/** What the customer calls a site and a unit, from its own cover (ids are not words). */
export function siteName(cover: Cover | null, siteId: string): string | null {
  return cover?.sites.find((s) => s.id === siteId)?.name ?? null;
}

export function unitName(cover: Cover | null, unitId: string | null | undefined): string | null {
  if (!cover || !unitId) return null;
  for (const site of cover.sites) {
    const unit = site.equipment.find((u) => u.id === unitId);
    if (unit) return unitLabel(unit);
  }
  return null;
}

export function unitLabel(unit: { equipment_type: string; model: string; serial: string }): string {
  return `${unit.equipment_type.replaceAll("_", " ")} · ${unit.model} · ${unit.serial}`;
}

export function durationText(minutes: number, t: (k: string, v?: Record<string, string | number>) => string): string {
  return minutes % 60 === 0 ? t("hours", { n: minutes / 60 }) : t("minutes", { n: minutes });
}
