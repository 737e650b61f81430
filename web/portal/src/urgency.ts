import type { RequestsComponents } from "@fieldline/shared";

type RequestIn = RequestsComponents["schemas"]["ServiceRequestIn"];

/** How urgent, in the customer's words. */
export type Urgency = "critical" | "routine";
export const URGENCIES: readonly Urgency[] = ["critical", "routine"];

/**
 * The one place plain words become the request's kind. The priority is the contract's decision (P1 on a critical
 * or high unit, else P2 for an emergency; P3 for routine work) and never the customer's (issue 16): "it has
 * stopped or works badly" is an emergency, "it can wait" a routine visit with time windows.
 */
export function kindOf(urgency: Urgency): Pick<RequestIn, "kind"> {
  return { kind: urgency === "routine" ? "routine" : "emergency" };
}

/** Parts of the day a routine visit may be asked for, in the company's local hours. */
export const DAY_PARTS = { morning: [8, 12], afternoon: [12, 17], evening: [17, 20] } as const;
export type DayPart = keyof typeof DAY_PARTS;

// Europe/Simferopol keeps UTC+3 all year (no daylight saving since 2014).
const COMPANY_UTC_OFFSET = "+03:00";

export function windowOf(day: string, part: DayPart): { start: string; end: string } {
  const [from, to] = DAY_PARTS[part];
  const hh = (h: number) => String(h).padStart(2, "0");
  return { start: `${day}T${hh(from)}:00:00${COMPANY_UTC_OFFSET}`, end: `${day}T${hh(to)}:00:00${COMPANY_UTC_OFFSET}` };
}
