/** The company's time zone: every time a dispatcher reads is shown in it, whatever the browser's zone. */
export const COMPANY_TIME_ZONE = "Europe/Simferopol";

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One `Intl.DateTimeFormat` per locale and options, made once: making one (with a time zone) costs far more than
 * formatting with it, and a board of 120 technicians formats thousands of times per frame. */
export function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, made);
  }
  return made;
}

export function formatTime(iso: string | Date, locale: string, timeZone = COMPANY_TIME_ZONE): string {
  return dateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}

export function formatDateTime(iso: string | Date, locale: string, timeZone = COMPANY_TIME_ZONE): string {
  return dateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));
}

/** The calendar day (YYYY-MM-DD) an instant falls on in the company's zone. */
export function companyDay(at: Date, timeZone = COMPANY_TIME_ZONE): string {
  const parts = dateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Minutes since the company's local midnight (for placing an instant on a day's Gantt row). */
export function minutesOfDay(iso: string | Date, timeZone = COMPANY_TIME_ZONE): number {
  const parts = dateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).formatToParts(new Date(iso));
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === "minute")?.value ?? 0);
  return hour * 60 + minute;
}

/** Minutes from the company's local midnight starting `day` (YYYY-MM-DD) to an instant: past 1,440 on the next day,
 * negative on the one before (a shift running past midnight keeps its length on the Gantt). */
export function minutesSince(day: string, iso: string | Date, timeZone = COMPANY_TIME_ZONE): number {
  const days = (Date.parse(companyDay(new Date(iso), timeZone)) - Date.parse(day)) / 86_400_000;
  return days * 1440 + minutesOfDay(iso, timeZone);
}

/** The instant `minutes` after local midnight of the company day that `reference` falls on (a drop on the Gantt). */
export function atMinutesOfDay(reference: string | Date, minutes: number, timeZone = COMPANY_TIME_ZONE): string {
  const at = new Date(reference);
  const midnight = at.getTime() - minutesOfDay(at, timeZone) * 60_000 - at.getUTCSeconds() * 1000 - at.getUTCMilliseconds();
  return new Date(midnight + minutes * 60_000).toISOString();
}
