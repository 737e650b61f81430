import { useEffect, useMemo, useState } from "react";
import { companyDay, dateTimeFormat, formatTime, useI18n } from "@fieldline/shared";
import { must, useWorkspace, type CalendarVisit, type Customer } from "./api";
import { CustomerPicker } from "./contracts";

const DAY_MS = 86_400_000;

/** Calendar days as YYYY-MM-DD, counted on UTC noon so no time zone shifts a day. */
function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

function weekday(day: string): number {
  return (new Date(`${day}T12:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
}

/** The days a month or week view shows, Monday first. */
function gridDays(mode: "month" | "week", anchor: string): string[] {
  if (mode === "week") {
    const monday = addDays(anchor, -weekday(anchor));
    return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
  }
  const first = `${anchor.slice(0, 8)}01`;
  const start = addDays(first, -weekday(first));
  const days: string[] = [];
  for (let d = start; days.length < 42; d = addDays(d, 1)) days.push(d);
  // drop a last week that lies wholly in the next month
  return days.slice(0, days.length - (days[35]!.slice(0, 7) !== anchor.slice(0, 7) ? 7 : 0));
}

export function CalendarView({ onOpenContract }: { onOpenContract: (id: string) => void }) {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [mode, setMode] = useState<"month" | "week">("month");
  const [anchor, setAnchor] = useState(() => companyDay(new Date()));
  const [visits, setVisits] = useState<CalendarVisit[] | null>(null);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const days = useMemo(() => gridDays(mode, anchor), [mode, anchor]);

  useEffect(() => {
    let cancelled = false;
    // a day's margin either side, then each visit lands on its day in the company's zone
    const from = `${addDays(days[0]!, -1)}T00:00:00Z`;
    const to = `${addDays(days[days.length - 1]!, 2)}T00:00:00Z`;
    (async () => {
      const all: CalendarVisit[] = [];
      for (let offset = 0; ; offset += 200) {
        const page = await must(api.contracts.GET("/visits", { params: { query: { from, to, limit: 200, offset, customer_id: customer?.id } } }));
        all.push(...page);
        if (page.length < 200) break;
      }
      if (!cancelled) setVisits(all);
    })().catch(fail);
    return () => {
      cancelled = true;
    };
  }, [api, days, customer, fail]);

  const byDay = useMemo(() => {
    const grouped = new Map<string, CalendarVisit[]>();
    for (const v of visits ?? []) {
      if (v.status === "cancelled") continue;
      const day = companyDay(new Date(v.due_at));
      grouped.set(day, [...(grouped.get(day) ?? []), v]);
    }
    return grouped;
  }, [visits]);
  const overdue = (visits ?? []).filter((v) => v.overdue).length;
  const title =
    mode === "month"
      ? dateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(`${anchor.slice(0, 8)}15T12:00:00Z`))
      : `${days[0]} – ${days[6]}`;
  const step = (n: number) => {
    if (mode === "week") return setAnchor(addDays(anchor, 7 * n));
    const [y, m] = anchor.split("-").map(Number) as [number, number];
    const next = new Date(Date.UTC(y, m - 1 + n, 1, 12));
    setAnchor(next.toISOString().slice(0, 10));
  };
  const today = companyDay(new Date());

  return (
    <section className="calendar" aria-label={t("section.calendar")}>
      <div className="toolbar">
        <button type="button" onClick={() => step(-1)} aria-label={t("previous")}>
          ←
        </button>
        <h2 data-testid="calendar-title">{title}</h2>
        <button type="button" onClick={() => step(1)} aria-label={t("next")}>
          →
        </button>
        <button type="button" onClick={() => setAnchor(today)}>
          {t("today")}
        </button>
        <input
          type="month"
          aria-label={t("goToMonth")}
          value={anchor.slice(0, 7)}
          onChange={(e) => e.target.value && setAnchor(`${e.target.value}-01`)}
        />
        <span role="group" aria-label={t("view")}>
          {(["month", "week"] as const).map((m) => (
            <button key={m} type="button" aria-pressed={mode === m} onClick={() => setMode(m)}>
              {t(`view.${m}`)}
            </button>
          ))}
        </span>
        <span className="legend">
          {t("visitsShown", { n: visits?.filter((v) => v.status !== "cancelled").length ?? 0 })}
          {overdue > 0 && <strong className="overdue-count"> · {t("overdueN", { n: overdue })}</strong>}
        </span>
      </div>
      <div className="filter">
        <CustomerPicker value={customer} onChange={setCustomer} />
      </div>
      <div className={`grid ${mode}`}>
        {[0, 1, 2, 3, 4, 5, 6].map((d) => (
          <div key={d} className="weekday">
            {t(`day.${["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d]}`)}
          </div>
        ))}
        {days.map((day) => (
          <div
            key={day}
            className={`day${day.slice(0, 7) !== anchor.slice(0, 7) && mode === "month" ? " other" : ""}${day === today ? " today" : ""}`}
            data-day={day}
            aria-label={day}
          >
            <span className="date">{Number(day.slice(8))}</span>
            {(byDay.get(day) ?? []).map((v) => (
              <button
                key={v.id}
                type="button"
                className={`visit ${v.status}${v.overdue ? " overdue" : ""}`}
                title={`${v.customer_name} · ${v.site_name} · ${t(`visitStatus.${v.status}`)}`}
                onClick={() => onOpenContract(v.contract_id)}
              >
                {v.overdue && <span className="badge">{t("overdue")}</span>} {formatTime(v.due_at, locale)} {v.customer_name} · {v.site_name}
              </button>
            ))}
          </div>
        ))}
      </div>
    </section>
  );
}
