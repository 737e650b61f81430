/**
 * The schedule builder's model: a recurrence in plain words, turned into an RFC 5545 RRULE for the contracts
 * service (which expands it with dateutil.rrule; the occurrences shown are the server's preview, never
 * computed here) and back into words for the screen.
 */

export type Frequency = "WEEKLY" | "MONTHLY" | "YEARLY";
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** Which weekday of the month: 1..4 or -1 (the last). */
export type Nth = 1 | 2 | 3 | 4 | -1;

export interface Recurrence {
  frequency: Frequency;
  interval: number;
  /** WEEKLY: on these days. */
  weekdays: Weekday[];
  /** MONTHLY / YEARLY: by a day of the month (1..28, -1 the last) or by "the first Tuesday". */
  monthlyBy: "monthday" | "weekday";
  monthDay: number;
  nth: Nth;
  nthWeekday: Weekday;
  /** YEARLY: the month (1..12). */
  month: number;
}

export const QUARTERLY: Recurrence = {
  frequency: "MONTHLY",
  interval: 3,
  weekdays: ["MO"],
  monthlyBy: "monthday",
  monthDay: 1,
  nth: 1,
  nthWeekday: "TU",
  month: 1,
};

export function toRrule(r: Recurrence): string {
  const parts = [`FREQ=${r.frequency}`];
  if (r.interval > 1) parts.push(`INTERVAL=${r.interval}`);
  if (r.frequency === "WEEKLY") {
    if (r.weekdays.length) parts.push(`BYDAY=${WEEKDAYS.filter((d) => r.weekdays.includes(d)).join(",")}`);
    return parts.join(";");
  }
  if (r.frequency === "YEARLY") parts.push(`BYMONTH=${r.month}`);
  parts.push(r.monthlyBy === "monthday" ? `BYMONTHDAY=${r.monthDay}` : `BYDAY=${r.nth}${r.nthWeekday}`);
  return parts.join(";");
}

type T = (key: string, vars?: Record<string, string | number>) => string;

/** "every 3 months on the first Tuesday", in the user's language. */
export function describe(r: Recurrence, t: T, locale: string): string {
  const unit = { WEEKLY: "week", MONTHLY: "month", YEARLY: "year" }[r.frequency];
  // "every 3 months" / "каждые 3 месяца", "каждые 5 месяцев": the language's plural form of the count
  const form = new Intl.PluralRules(locale).select(r.interval);
  const every = r.interval === 1 ? t(`every.${unit}`) : t(`every.n.${unit}.${form}`, { n: r.interval });
  if (r.frequency === "WEEKLY") {
    const days = WEEKDAYS.filter((d) => r.weekdays.includes(d)).map((d) => t(`day.${d}`));
    return days.length ? `${every} ${t("on")} ${days.join(", ")}` : every;
  }
  const which =
    r.monthlyBy === "monthday"
      ? r.monthDay === -1
        ? t("onLastDay")
        : t("onDay", { n: r.monthDay })
      : `${t("on")} ${t(`nth.${r.nth}`)} ${t(`day.${r.nthWeekday}`)}`;
  const month = r.frequency === "YEARLY" ? ` ${t("inMonth", { month: t(`month.${r.month}`) })}` : "";
  return `${every} ${which}${month}`;
}
