import { useCallback, useEffect, useState, type FormEvent } from "react";
import { dateTimeFormat, formatDateTime, useI18n } from "@fieldline/shared";
import { must, useWorkspace, type CalendarVisit, type Contract, type PreviewedVisit, type Schedule, type Site, type Unit } from "./api";
import { describe, QUARTERLY, toRrule, WEEKDAYS, type Frequency, type Nth, type Recurrence, type Weekday } from "./rrule";

function formatDay(day: string, locale: string): string {
  return dateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`));
}

export function SchedulesPanel({ contract, sites }: { contract: Contract; sites: Site[] }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [schedules, setSchedules] = useState<Schedule[]>([]);
  const reload = useCallback(() => {
    must(api.contracts.GET("/contracts/{contract_id}/schedules", { params: { path: { contract_id: contract.id }, query: { limit: 200 } } }))
      .then(setSchedules)
      .catch(fail);
  }, [api, contract, fail]);
  useEffect(reload, [reload]);
  const retire = (id: string) =>
    must(api.contracts.PATCH("/schedules/{schedule_id}", { params: { path: { schedule_id: id } }, body: { active: false } }))
      .then(reload)
      .catch(fail);
  const siteName = (id: string) => sites.find((s) => s.id === id)?.name ?? id.slice(0, 8);
  return (
    <section className="schedules" aria-label={t("schedules")}>
      <h3>{t("schedules")}</h3>
      <table className="rows">
        <thead>
          <tr>
            <th>{t("site")}</th>
            <th>RRULE</th>
            <th>{t("firstOn")}</th>
            <th>{t("tolerance")}</th>
            <th>{t("duration")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => (
            <tr key={s.id} className={s.active ? "" : "retired"}>
              <td>{siteName(s.site_id)}</td>
              <td>
                <code>{s.rrule}</code>
              </td>
              <td>
                {s.first_on} {s.visit_time.slice(0, 5)}
              </td>
              <td>±{s.tolerance_days}</td>
              <td>{s.duration_minutes}′</td>
              <td>
                {s.active && contract.status !== "terminated" && contract.status !== "expired" && (
                  <button type="button" onClick={() => retire(s.id)}>
                    {t("retire")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {contract.status !== "terminated" && contract.status !== "expired" && <ScheduleBuilder contract={contract} sites={sites} onAdded={reload} />}
    </section>
  );
}

const MONTH_DAYS = [...Array.from({ length: 28 }, (_, i) => i + 1), -1];

function ScheduleBuilder({ contract, sites, onAdded }: { contract: Contract; sites: Site[]; onAdded: () => void }) {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [rule, setRule] = useState<Recurrence>(QUARTERLY);
  const [siteId, setSiteId] = useState(sites[0]?.id ?? "");
  const [units, setUnits] = useState<Unit[]>([]);
  const [unitId, setUnitId] = useState("");
  const [firstOn, setFirstOn] = useState(contract.starts_on);
  const [visitTime, setVisitTime] = useState("09:00");
  const [tolerance, setTolerance] = useState(7);
  const [duration, setDuration] = useState(90);
  const [preview, setPreview] = useState<PreviewedVisit[] | null>(null);
  const [previewProblem, setPreviewProblem] = useState<string | null>(null);
  const rrule = toRrule(rule);
  const change = (part: Partial<Recurrence>) => setRule({ ...rule, ...part });

  useEffect(() => {
    if (!siteId && sites[0]) setSiteId(sites[0].id);
  }, [sites, siteId]);
  useEffect(() => {
    if (!siteId) return;
    must(api.contracts.GET("/sites/{site_id}/equipment", { params: { path: { site_id: siteId }, query: { limit: 200 } } }))
      .then(setUnits)
      .catch(fail);
  }, [api, siteId, fail]);
  // the preview is the service's own expansion of the rule (dateutil.rrule, as visits are generated)
  useEffect(() => {
    const timer = setTimeout(() => {
      api.contracts
        .POST("/schedules/preview", {
          body: { rrule, first_on: firstOn, visit_time: visitTime, tolerance_days: tolerance, timezone: contract.timezone, ends_on: contract.ends_on ?? null, count: 6 },
        })
        .then(({ data, error }) => {
          setPreview(data?.visits ?? null);
          setPreviewProblem(error ? ((error as { detail?: string }).detail ?? "?") : null);
        })
        .catch(fail);
    }, 250);
    return () => clearTimeout(timer);
  }, [api, rrule, firstOn, visitTime, tolerance, contract, fail]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    must(
      api.contracts.POST("/contracts/{contract_id}/schedules", {
        params: { path: { contract_id: contract.id } },
        body: { site_id: siteId, equipment_id: unitId || null, rrule, first_on: firstOn, visit_time: visitTime, tolerance_days: tolerance, duration_minutes: duration, priority: "P4" },
      }),
    )
      .then(onAdded)
      .catch(fail);
  };

  return (
    <form className="card builder" onSubmit={submit} aria-label={t("newSchedule")}>
      <h4>{t("newSchedule")}</h4>
      <label>
        {t("site")}{" "}
        <select value={siteId} onChange={(e) => (setSiteId(e.target.value), setUnitId(""))}>
          {sites.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("unit")}{" "}
        <select value={unitId} onChange={(e) => setUnitId(e.target.value)}>
          <option value="">{t("allCoveredUnits")}</option>
          {units.map((u) => (
            <option key={u.id} value={u.id}>
              {u.equipment_type} {u.model} {u.serial}
            </option>
          ))}
        </select>
      </label>
      <div className="sentence">
        <label>
          {t("every")} <input aria-label={t("interval")} type="number" min={1} max={24} value={rule.interval} onChange={(e) => change({ interval: Math.max(1, Number(e.target.value)) })} />
        </label>
        <select aria-label={t("frequency")} value={rule.frequency} onChange={(e) => change({ frequency: e.target.value as Frequency })}>
          {(["WEEKLY", "MONTHLY", "YEARLY"] as const).map((f) => (
            <option key={f} value={f}>
              {t(`unit.${f}`)}
            </option>
          ))}
        </select>
        {rule.frequency === "WEEKLY" ? (
          <span role="group" aria-label={t("weekdays")}>
            {WEEKDAYS.map((d) => (
              <label key={d} className="check">
                <input
                  type="checkbox"
                  checked={rule.weekdays.includes(d)}
                  onChange={(e) => change({ weekdays: e.target.checked ? [...rule.weekdays, d] : rule.weekdays.filter((x) => x !== d) })}
                />
                {t(`day.${d}`)}
              </label>
            ))}
          </span>
        ) : (
          <>
            <select aria-label={t("which")} value={rule.monthlyBy} onChange={(e) => change({ monthlyBy: e.target.value as Recurrence["monthlyBy"] })}>
              <option value="monthday">{t("byMonthDay")}</option>
              <option value="weekday">{t("byWeekday")}</option>
            </select>
            {rule.monthlyBy === "monthday" ? (
              <select aria-label={t("monthDay")} value={rule.monthDay} onChange={(e) => change({ monthDay: Number(e.target.value) })}>
                {MONTH_DAYS.map((d) => (
                  <option key={d} value={d}>
                    {d === -1 ? t("lastDay") : d}
                  </option>
                ))}
              </select>
            ) : (
              <>
                <select aria-label={t("nth")} value={rule.nth} onChange={(e) => change({ nth: Number(e.target.value) as Nth })}>
                  {([1, 2, 3, 4, -1] as const).map((n) => (
                    <option key={n} value={n}>
                      {t(`nth.${n}`)}
                    </option>
                  ))}
                </select>
                <select aria-label={t("weekday")} value={rule.nthWeekday} onChange={(e) => change({ nthWeekday: e.target.value as Weekday })}>
                  {WEEKDAYS.map((d) => (
                    <option key={d} value={d}>
                      {t(`day.${d}`)}
                    </option>
                  ))}
                </select>
              </>
            )}
            {rule.frequency === "YEARLY" && (
              <select aria-label={t("month")} value={rule.month} onChange={(e) => change({ month: Number(e.target.value) })}>
                {Array.from({ length: 12 }, (_, i) => i + 1).map((m) => (
                  <option key={m} value={m}>
                    {t(`month.${m}`)}
                  </option>
                ))}
              </select>
            )}
          </>
        )}
      </div>
      <p className="in-words" data-testid="rule-in-words">
        {describe(rule, t, locale)}
      </p>
      <p className="hint">
        RRULE: <code data-testid="rrule">{rrule}</code>
      </p>
      <label>
        {t("firstOn")} <input type="date" value={firstOn} onChange={(e) => setFirstOn(e.target.value)} />
      </label>
      <label>
        {t("visitTime")} <input type="time" value={visitTime} onChange={(e) => setVisitTime(e.target.value)} />
      </label>
      <label>
        {t("toleranceDays")} <input type="number" min={0} max={60} value={tolerance} onChange={(e) => setTolerance(Number(e.target.value))} />
      </label>
      <label>
        {t("durationMinutes")} <input type="number" min={1} max={1440} value={duration} onChange={(e) => setDuration(Number(e.target.value))} />
      </label>
      <div className="preview" aria-label={t("nextVisits")}>
        <h5>{t("nextVisits")}</h5>
        {previewProblem && <p className="refused">{previewProblem}</p>}
        <ol data-testid="schedule-preview">
          {(preview ?? []).map((v) => (
            <li key={v.due_at}>
              {formatDateTime(v.due_at, locale, contract.timezone)}{" "}
              <small>{t("windowFromTo", { from: formatDay(shiftDay(v.window_start, contract.timezone), locale), to: formatDay(lastDay(v.window_end, contract.timezone), locale) })}</small>
            </li>
          ))}
        </ol>
      </div>
      <button type="submit" disabled={!siteId || !!previewProblem}>
        {t("addSchedule")}
      </button>
    </form>
  );
}

/** The local calendar day an instant starts (a window's first day). */
function shiftDay(iso: string, timeZone: string): string {
  return dateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

/** The last local day of a window that ends (exclusive) at local midnight. */
function lastDay(iso: string, timeZone: string): string {
  return shiftDay(new Date(new Date(iso).getTime() - 1).toISOString(), timeZone);
}

/** The contract's visits from a month back to a month ahead, overdue ones marked (the service says which). */
export function ContractVisits({ contract }: { contract: Contract }) {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [visits, setVisits] = useState<CalendarVisit[]>([]);
  useEffect(() => {
    // no span given: the service takes a month either side of its own now
    must(api.contracts.GET("/visits", { params: { query: { contract_id: contract.id, limit: 200 } } }))
      .then(setVisits)
      .catch(fail);
  }, [api, contract, fail]);
  return (
    <section aria-label={t("contractVisits")}>
      <h3>{t("contractVisits")}</h3>
      {visits.length === 0 ? (
        <p className="hint">{t("noVisits")}</p>
      ) : (
        <table className="rows">
          <thead>
            <tr>
              <th>{t("due")}</th>
              <th>{t("site")}</th>
              <th>{t("status")}</th>
            </tr>
          </thead>
          <tbody>
            {visits.map((v) => (
              <tr key={v.id} className={v.overdue ? "overdue" : ""}>
                <td>{formatDateTime(v.due_at, locale, contract.timezone)}</td>
                <td>{v.site_name}</td>
                <td>
                  {t(`visitStatus.${v.status}`)} {v.overdue && <span className="badge">{t("overdue")}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
