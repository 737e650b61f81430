import type { RequestsComponents } from "@fieldline/shared";

type RequestIn = RequestsComponents["schemas"]["ServiceRequestIn"];

/** How urgent, in the customer's words. */
export type Urgency = "critical" | "urgent" | "routine";
export const URGENCIES: readonly Urgency[] = ["critical", "urgent", "routine"];

/**
 * The one place plain words become the request's kind and priority, as the requests API takes them today:
 * "stopped, goods at risk" asks for P1; "not working properly" is an emergency whose priority the contract
 * picks (P1 on a critical or high unit, else P2); "can wait" is routine (P3 by default), with time windows.
 * Issue 16 makes the priority the contract's decision alone: then only `kind` is sent and this map shrinks.
 */
export function kindAndPriority(urgency: Urgency): Pick<RequestIn, "kind" | "priority"> {
  switch (urgency) {
    case "critical":
      return { kind: "emergency", priority: "P1" };
    case "urgent":
      return { kind: "emergency" };
    case "routine":
      return { kind: "routine" };
  }
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
