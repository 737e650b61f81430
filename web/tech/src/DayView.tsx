import { useState } from "react";
import { COMPANY_TIME_ZONE, CrimeaMap, dateTimeFormat, formatDateTime, formatTime, MAP_HEIGHT, MAP_WIDTH, project, useI18n } from "@fieldline/shared";
import { effectiveStatus, type Command, type Position } from "./App";
import { geoUri, stopName, type Day, type Stop } from "./day";
import { ReportForm } from "./Report";
import { accessOn, type SiteFacts } from "./site";
import type { QueuedCommand } from "./store";

interface Props {
  day: Day;
  facts: SiteFacts;
  waiting: QueuedCommand[];
  run: (command: Command) => Promise<void>;
  at: () => string | undefined;
  position: () => Position | null;
}

export function DayView({ day, facts, waiting, run, at, position }: Props) {
  const { t, locale } = useI18n();
  const stops = [...day.stops].sort((a, b) => a.assignment.planned_start.localeCompare(b.assignment.planned_start));
  let technicianStatus = day.status;
  for (const c of waiting) if (c.kind === "break") technicianStatus = c.effect ?? technicianStatus;
  const onBreak = technicianStatus === "on_break";
  return (
    <main className="day">
      <div className="day-head">
        <h2>{dateTimeFormat(locale, { dateStyle: "full", timeZone: "UTC" }).format(new Date(`${day.day}T00:00:00Z`))}</h2>
        <button
          type="button"
          className={onBreak ? "big break on" : "big break"}
          onClick={() =>
            void run({
              kind: "break",
              method: "POST",
              path: "/me/break",
              effect: onBreak ? "available" : "on_break",
              what: onBreak ? t("breakEnd") : t("breakStart"),
              body: { client_command_id: crypto.randomUUID(), on_break: !onBreak, at: at() },
            })
          }
        >
          {onBreak ? t("breakEnd") : t("breakStart")}
        </button>
      </div>
      {stops.length === 0 ? <p>{t("noStops")}</p> : <DayMap stops={stops} />}
      <ol className="stops">
        {stops.map((stop, i) => (
          <StopCard key={stop.assignment.id} n={i + 1} stop={stop} day={day.day} facts={facts} arrivedAt={stop.assignment.arrived_at ?? queuedArrival(waiting, stop.assignment.id)} status={effectiveStatus(stop, waiting)} pending={waiting.some((c) => c.assignmentId === stop.assignment.id)} run={run} at={at} position={position} />
        ))}
      </ol>
      <p className="tz">{t("timesIn", { zone: COMPANY_TIME_ZONE })}</p>
    </main>
  );
}

const MAX_ZOOM = 3; // closer, and the towns' names would cover the stops

/** The day's stops in order on the peninsula, zoomed to them (at most MAX_ZOOM times). */
function DayMap({ stops }: { stops: Stop[] }) {
  const { t, locale } = useI18n();
  const points = stops.map((s) => project(s.site.location.lon, s.site.location.lat));
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const width = Math.max(MAP_WIDTH / MAX_ZOOM, (Math.max(...xs) - Math.min(...xs)) * 1.4);
  const height = Math.max(MAP_HEIGHT / MAX_ZOOM, (Math.max(...ys) - Math.min(...ys)) * 1.4);
  const side = Math.max(width, (height * MAP_WIDTH) / MAP_HEIGHT); // keep the map's proportions
  const zoom = MAP_WIDTH / side;
  const left = Math.min(Math.max((Math.max(...xs) + Math.min(...xs)) / 2 - side / 2, 0), MAP_WIDTH - side);
  const tall = (side * MAP_HEIGHT) / MAP_WIDTH;
  const top = Math.min(Math.max((Math.max(...ys) + Math.min(...ys)) / 2 - tall / 2, 0), MAP_HEIGHT - tall);
  const r = 16 / Math.sqrt(zoom);
  return (
    <figure className="day-map" data-testid="day-map">
      <CrimeaMap locale={locale} label={t("map")} viewBox={`${left} ${top} ${side} ${tall}`}>
        <polyline points={points.map((p) => `${p.x},${p.y}`).join(" ")} fill="none" stroke="#0b3d91" strokeWidth={4 / zoom} />
        {points.map((p, i) => (
          <g key={stops[i]!.assignment.id}>
            <circle cx={p.x} cy={p.y} r={r} fill="#0b3d91" stroke="#fff" strokeWidth={2 / zoom} />
            <text x={p.x} y={p.y + r * 0.4} textAnchor="middle" fontSize={r * 1.1} fill="#fff" fontWeight="bold">
              {i + 1}
            </text>
          </g>
        ))}
      </CrimeaMap>
    </figure>
  );
}

/** When the on-site step still waiting to sync says the technician arrived. */
function queuedArrival(waiting: QueuedCommand[], assignmentId: string): string | null {
  const step = waiting.find((c) => c.assignmentId === assignmentId && c.effect === "on_site");
  return (step?.body as { at?: string } | undefined)?.at ?? null;
}

function StopCard({ n, stop, day, facts, arrivedAt, status, pending, run, at, position }: { n: number; stop: Stop; day: string; arrivedAt: string | null; status: string; pending: boolean } & Omit<Props, "day" | "waiting">) {
  const { t, locale } = useI18n();
  const [declining, setDeclining] = useState(false);
  const [reporting, setReporting] = useState(false);
  const a = stop.assignment;
  const what = stopName(stop);
  const time = (iso: string | null | undefined) => (iso ? formatTime(iso, locale) : "—");
  const base = `/me/assignments/${a.id}`;
  const step = (kind: "accept" | "status", effect: string, path: string, extra: Record<string, unknown> = {}) => {
    const here = position();
    return run({
      kind,
      method: "POST",
      path,
      assignmentId: a.id,
      effect,
      what,
      body: { client_command_id: crypto.randomUUID(), at: at(), ...(here ? { position: { lat: here.lat, lon: here.lon } } : {}), ...extra },
    });
  };
  const site = facts.sites[stop.site.site_id];
  const contactName = stop.contact.name || site?.contact_name || "";
  const contactPhone = stop.contact.phone || site?.contact_phone || "";
  const access = accessOn(site, day);
  const named = new Set(stop.equipment_ids);
  const units = (facts.units[stop.site.site_id] ?? []).filter((u) => !named.size || named.has(u.id));
  const carried = stop.history.find((h) => h.status === "failed" || (h.outcome && h.outcome !== "completed"));
  return (
    <li className={`stop kind-${stop.kind} status-${status}`} data-testid={`stop-${a.id}`} data-status={status}>
      <header>
        <span className="n">{n}</span>
        <h3>{what}</h3>
        <span className={`badge ${stop.kind}`}>
          {t(`kind_${stop.kind}`)} · {stop.priority}
        </span>
      </header>
      <p className="status" data-testid="status">
        {t(`status_${status}`)}
        {pending && <em className="pending"> · {t("waiting")}</em>}
      </p>
      <dl className="times">
        <div>
          <dt>{t("eta", { time: time(a.eta) })}</dt>
          <dd>{t("planned", { from: time(a.planned_start), to: time(a.planned_end) })}</dd>
        </div>
        {stop.window.start && <dd>{t("window", { from: time(stop.window.start), to: time(stop.window.end) })}</dd>}
        {stop.response_due && <dd className="sla">{t("responseDue", { time: time(stop.response_due) })}</dd>}
        {stop.fix_due && <dd className="sla">{t("fixDue", { time: time(stop.fix_due) })}</dd>}
      </dl>
      {stop.bundled_with && <p className="bundled">{t("bundled")}</p>}
      {carried && <p className="carried">{t("carriedOver", { why: t(`outcome_${carried.outcome ?? "needs_parts"}`) })}</p>}
      <div className="links">
        <a className="big" href={geoUri(stop)}>
          {t("navigate")}
        </a>
        {contactPhone && (
          <a className="big" href={`tel:${contactPhone.replace(/[^+\d]/g, "")}`}>
            {t("call")} {contactName}
          </a>
        )}
      </div>
      <details>
        <summary>{t("access")}</summary>
        <p>{stop.description || "—"}</p>
        <p data-testid="access">{access === null ? t("accessAnyTime") : access ? t("accessHours", { hours: access }) : t("accessClosed")}</p>
        <p>
          {t("contact")}: {contactName || "—"} {contactPhone}
        </p>
      </details>
      <details data-testid="equipment">
        <summary>
          {t("equipment")} ({units.length || stop.equipment_ids.length})
        </summary>
        {units.length ? (
          <ul className="units">
            {units.map((u) => (
              <li key={u.id}>
                <strong>
                  {u.equipment_type.replace(/_/g, " ")} · {u.model}
                </strong>{" "}
                · {t("serial", { serial: u.serial })}
                {u.warranty_ends_on && <> · {t("warrantyUntil", { date: u.warranty_ends_on })}</>}
                {u.criticality && u.criticality !== "normal" && <> · {t(`criticality_${u.criticality}`)}</>}
                {(facts.history[u.id] ?? []).filter((h) => h.status === "completed" || h.status === "failed").length > 0 && (
                  <ul>
                    {(facts.history[u.id] ?? [])
                      .filter((h) => h.status === "completed" || h.status === "failed")
                      .map((h) => (
                        <li key={`${h.request_id}-${h.at}`}>
                          {formatDateTime(h.at, locale)} · {t(`kind_${h.kind}`)} · {t(`status_${h.status}`)}
                          {h.outcome && h.outcome !== "completed" ? ` (${t(`outcome_${h.outcome}`)})` : ""}
                        </li>
                      ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        ) : stop.equipment_ids.length ? (
          <ul>
            {stop.equipment_ids.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        ) : (
          <p>{t("noEquipment")}</p>
        )}
        <h4>{t("history")}</h4>
        {stop.history.length ? (
          <ul>
            {stop.history.map((h) => (
              <li key={h.request_id}>
                {h.finished_at ? formatTime(h.finished_at, locale) : "—"} · {t(`kind_${h.kind}`)} · {t(`status_${h.status}`)}
                {h.report?.work_done ? ` — ${h.report.work_done}` : ""}
              </li>
            ))}
          </ul>
        ) : (
          <p>{t("noHistory")}</p>
        )}
      </details>
      <div className="actions">
        {status === "offered" && !declining && (
          <>
            <button type="button" className="big primary" onClick={() => void step("accept", "accepted", `${base}/accept`)}>
              {t("accept")}
            </button>
            <button type="button" className="big" onClick={() => setDeclining(true)}>
              {t("decline")}
            </button>
          </>
        )}
        {status === "offered" && declining && (
          <DeclineForm
            onCancel={() => setDeclining(false)}
            onDecline={(reason) =>
              void run({
                kind: "decline",
                method: "POST",
                path: `${base}/decline`,
                assignmentId: a.id,
                effect: "declined",
                what,
                body: { client_command_id: crypto.randomUUID(), at: at(), reason },
              })
            }
          />
        )}
        {status === "accepted" && (
          <button type="button" className="big primary" onClick={() => void step("status", "en_route", `${base}/status`, { status: "en_route" })}>
            {t("enRoute")}
          </button>
        )}
        {status === "en_route" && (
          <button type="button" className="big primary" onClick={() => void step("status", "on_site", `${base}/status`, { status: "on_site" })}>
            {t("onSite")}
          </button>
        )}
        {status === "on_site" && !reporting && (
          <button type="button" className="big primary" onClick={() => setReporting(true)}>
            {t("report")}
          </button>
        )}
      </div>
      {status === "on_site" && reporting && (
        <ReportForm stop={stop} arrivedAt={arrivedAt} run={run} at={at} onDone={() => setReporting(false)} />
      )}
      {(status === "completed" || status === "failed") && a.outcome && <p className="outcome">{t(`outcome_${a.outcome}`)}</p>}
    </li>
  );
}

const DECLINE_REASONS = ["reason_too_far", "reason_no_skill", "reason_no_parts", "reason_other"];

function DeclineForm({ onCancel, onDecline }: { onCancel: () => void; onDecline: (reason: string) => void }) {
  const { t } = useI18n();
  const [choice, setChoice] = useState(DECLINE_REASONS[0]!);
  const [text, setText] = useState("");
  return (
    <fieldset className="decline">
      <legend>{t("declineReason")}</legend>
      {DECLINE_REASONS.map((r) => (
        <label key={r} className="choice">
          <input type="radio" name="decline" checked={choice === r} onChange={() => setChoice(r)} /> {t(r)}
        </label>
      ))}
      {choice === "reason_other" && <textarea aria-label={t("declineReason")} value={text} onChange={(e) => setText(e.target.value)} />}
      <button type="button" className="big primary" onClick={() => onDecline(choice === "reason_other" ? text : t(choice))}>
        {t("confirmDecline")}
      </button>
      <button type="button" className="big" onClick={onCancel}>
        {t("cancel")}
      </button>
    </fieldset>
  );
}
