import { useState, type DragEvent } from "react";
import {
  areaRings,
  atMinutesOfDay,
  CrimeaMap,
  formatDateTime,
  formatTime,
  minutesOfDay,
  minutesSince,
  project,
  ringPoints,
  TERRITORY_COLOURS,
  useI18n,
} from "@fieldline/shared";
import type { Board, BoardRequest, BoardTechnician, Booking } from "./board";
import type { Refusal } from "./App";

const TECH_COLOURS: Record<string, string> = {
  available: "#2e7d32",
  en_route: "#1565c0",
  on_site: "#ef6c00",
  on_break: "#8e24aa",
  off_duty: "#757575",
};
/** Where a technician is: the last reported position, else the home base. */
function whereIs(tech: BoardTechnician): { lat: number; lon: number } | null {
  if (tech.lat != null && tech.lon != null) return { lat: tech.lat, lon: tech.lon };
  if (tech.home_lat != null && tech.home_lon != null) return { lat: tech.home_lat, lon: tech.home_lon };
  return null;
}

const PRIORITY_COLOURS: Record<string, string> = { P1: "#c62828", P2: "#ef6c00", P3: "#f9a825", P4: "#607d8b" };

export interface Territory {
  id: string;
  name: string;
  area: { type?: unknown; coordinates?: unknown };
}

export function MapView(props: {
  board: Board;
  territories: Territory[];
  selectedTech: string | null;
  onSelectTech: (id: string) => void;
  onSelectJob: (id: string) => void;
}) {
  const { t, locale } = useI18n();
  const selected = props.board.technicians.find((tech) => tech.id === props.selectedTech);
  const start = selected ? whereIs(selected) : null;
  const routeLine = selected
    ? [
        ...(start ? [project(start.lon, start.lat)] : []),
        ...selected.route.filter((b) => b.site_lat != null && b.site_lon != null).map((b) => project(b.site_lon!, b.site_lat!)),
      ]
    : [];
  return (
    <section className="map" aria-label={t("map")}>
      <CrimeaMap locale={locale} label={t("map")}>
        {props.territories.map((territory, i) =>
          areaRings(territory.area).map((ring, j) => (
            <polygon
              key={`${territory.id}-${j}`}
              data-testid={`territory-${territory.id}`}
              points={ringPoints(ring)}
              fill={TERRITORY_COLOURS[i % TERRITORY_COLOURS.length]}
              fillOpacity={0.08}
              stroke={TERRITORY_COLOURS[i % TERRITORY_COLOURS.length]}
              strokeWidth={1.5}
            >
              <title>{territory.name}</title>
            </polygon>
          )),
        )}
        {routeLine.length > 1 && (
          <polyline
            data-testid="route-line"
            points={routeLine.map((p) => `${p.x},${p.y}`).join(" ")}
            fill="none"
            stroke="#1565c0"
            strokeWidth={3}
            strokeDasharray="8 4"
          />
        )}
        {props.board.requests
          .filter((r) => r.lat != null && r.lon != null)
          .map((r) => {
            const { x, y } = project(r.lon!, r.lat!);
            return (
              <rect
                key={r.request_id}
                data-testid={`map-job-${r.request_id}`}
                x={x - 7}
                y={y - 7}
                width={14}
                height={14}
                fill={PRIORITY_COLOURS[r.priority] ?? "#607d8b"}
                stroke={r.assignment ? "#222" : "#fff"}
                strokeWidth={2}
                tabIndex={0}
                onClick={() => props.onSelectJob(r.request_id)}
              >
                <title>{`${r.priority} ${r.kind}: ${r.description}`}</title>
              </rect>
            );
          })}
        {props.board.technicians.map((tech) => {
            const at = whereIs(tech);
            if (!at) return null;
            const { x, y } = project(at.lon, at.lat);
            return (
              <circle
                key={tech.id}
                data-testid={`map-tech-${tech.id}`}
                cx={x}
                cy={y}
                r={tech.id === props.selectedTech ? 11 : 8}
                fill={TECH_COLOURS[tech.status] ?? "#757575"}
                stroke="#fff"
                strokeWidth={2}
                tabIndex={0}
                onClick={() => props.onSelectTech(tech.id)}
              >
                <title>{`${tech.name} (${tech.status})`}</title>
              </circle>
            );
          })}
      </CrimeaMap>
    </section>
  );
}

export function AtRiskList({ board, onSelectJob }: { board: Board; onSelectJob: (id: string) => void }) {
  const { t, locale } = useI18n();
  const atRisk = board.requests.filter((r) => r.at_risk);
  return (
    <section className="at-risk" aria-label={t("atRisk")}>
      <h2>{t("atRisk")}</h2>
      {atRisk.length === 0 && <p>{t("noneAtRisk")}</p>}
      <ul>
        {atRisk.map((r) => (
          <li key={r.request_id}>
            <button type="button" onClick={() => onSelectJob(r.request_id)}>
              <b>{r.priority}</b> {r.description || r.kind}{" "}
              {r.minutes_left != null &&
                (r.minutes_left < 0
                  ? t("late", { n: Math.round(-r.minutes_left) })
                  : t("minutesLeft", { n: Math.round(r.minutes_left) }))}
              {r.predicted_arrival && ` · ${t("eta")} ${formatTime(r.predicted_arrival, locale)}`}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

const DAY_START = 6 * 60;
const DAY_END = 22 * 60;
const pct = (minutes: number) => `${((Math.min(Math.max(minutes, DAY_START), DAY_END) - DAY_START) / (DAY_END - DAY_START)) * 100}%`;

/** Left and width of the span between two instants on the track of `day`. */
const spanOn = (day: string) => (from: string, to: string) => {
  const a = minutesSince(day, from);
  const b = Math.max(minutesSince(day, to), a);
  return { left: pct(a), width: `calc(${pct(b)} - ${pct(a)})` };
};

function jobOf(board: Board, booking: Booking): BoardRequest | undefined {
  return board.requests.find((r) => r.request_id === booking.request_id);
}

export function ScheduleBoard(props: {
  board: Board;
  refusal: Refusal | null;
  onMove: (job: BoardRequest, technicianId: string, start: string | null) => void;
  onSelectJob: (id: string) => void;
  onSelectTech: (id: string) => void;
}) {
  const { t, locale } = useI18n();
  const [over, setOver] = useState<string | null>(null);
  // The queue: unassigned work, and work booked outside the day shown (e.g. an emergency placed tomorrow morning).
  const onRoute = new Set(props.board.technicians.flatMap((tech) => tech.route.map((b) => b.request_id)));
  const queue = props.board.requests.filter((r) => !onRoute.has(r.request_id));
  const nameOf = (id: string) => props.board.technicians.find((tech) => tech.id === id)?.name ?? "?";
  const nowMinutes = minutesOfDay(props.board.at);
  const span = spanOn(props.board.day);
  // Dropped on a row's track: that technician, at the time under the pointer (to 5 minutes); on the name: the
  // technician, and the server picks the time. The server's checks decide either way.
  const onDrop = (technicianId: string) => (event: DragEvent) => {
    event.preventDefault();
    setOver(null);
    const job = props.board.requests.find((r) => r.request_id === event.dataTransfer.getData("text/plain"));
    if (!job) return;
    const track = (event.target as HTMLElement).closest(".track");
    let start: string | null = null;
    if (track) {
      const box = track.getBoundingClientRect();
      const minutes = DAY_START + ((event.clientX - box.left) / box.width) * (DAY_END - DAY_START);
      start = atMinutesOfDay(props.board.at, Math.round(minutes / 5) * 5);
    }
    if (start === null && job.assignment?.technician_id === technicianId) return;
    props.onMove(job, technicianId, start);
  };
  const dragStart = (requestId: string) => (event: DragEvent) => event.dataTransfer.setData("text/plain", requestId);
  const hours = Array.from({ length: (DAY_END - DAY_START) / 60 + 1 }, (_, i) => DAY_START / 60 + i);
  return (
    <section className="schedule" aria-label={t("board")}>
      <h2>
        {t("board")} · {props.board.day} <small>{t("dragHint")}</small>
      </h2>
      <div className="gantt">
        <div className="hours">
          {hours.map((h) => (
            <span key={h} style={{ left: pct(h * 60) }}>
              {String(h).padStart(2, "0")}
            </span>
          ))}
        </div>
        {props.board.technicians.map((tech: BoardTechnician) => (
          <div
            key={tech.id}
            className={over === tech.id ? "row over" : "row"}
            data-testid={`row-${tech.id}`}
            data-technician={tech.name}
            onDragOver={(e) => {
              e.preventDefault();
              setOver(tech.id);
            }}
            onDragLeave={() => setOver(null)}
            onDrop={onDrop(tech.id)}
          >
            <button type="button" className="who" onClick={() => props.onSelectTech(tech.id)}>
              <span className="dot" style={{ background: TECH_COLOURS[tech.status] ?? "#757575" }} />
              {tech.name}
            </button>
            <div className="track">
              {tech.shift && (
                <>
                  <div
                    className="shift"
                    data-testid={`shift-${tech.id}`}
                    title={`${t("shift")} ${formatTime(tech.shift.starts_at, locale)}–${formatTime(tech.shift.ends_at, locale)}`}
                    style={span(tech.shift.starts_at, tech.shift.ends_at)}
                  />
                  <div
                    className="overtime"
                    title={`${t("overtime")} ${formatTime(tech.shift.ends_at, locale)}–${formatTime(tech.shift.overtime_until, locale)}`}
                    style={span(tech.shift.ends_at, tech.shift.overtime_until)}
                  />
                </>
              )}
              {tech.break_due && (
                <div
                  className="break-window"
                  data-testid={`break-due-${tech.id}`}
                  title={t("breakDue", {
                    n: tech.break_due.minutes,
                    from: formatTime(tech.break_due.earliest, locale),
                    to: formatTime(tech.break_due.latest, locale),
                  })}
                  style={span(tech.break_due.earliest, tech.break_due.latest)}
                />
              )}
              {tech.break_taken && (
                <div
                  className="break-taken"
                  data-testid={`break-taken-${tech.id}`}
                  title={`${t("breakTaken")} ${formatTime(tech.break_taken.start, locale)}–${formatTime(tech.break_taken.end, locale)}`}
                  style={span(tech.break_taken.start, tech.break_taken.end)}
                />
              )}
              {tech.route.map((b, i) => {
                // between two jobs: from leaving the previous one to the arrival here (the drive, then any wait)
                const from = i > 0 ? (tech.route[i - 1]?.planned_end ?? null) : null;
                return from && minutesSince(props.board.day, b.eta) > minutesSince(props.board.day, from) ? (
                  <div
                    key={`travel-${b.id}`}
                    className="travel"
                    title={`${t("travel")} ${formatTime(from, locale)}–${formatTime(b.eta, locale)}`}
                    style={span(from, b.eta)}
                  />
                ) : null;
              })}
              <div className="now" style={{ left: pct(nowMinutes) }} />
              {tech.route.map((b) => {
                const job = jobOf(props.board, b);
                const start = minutesOfDay(b.planned_start);
                const end = Math.max(minutesOfDay(b.planned_end), start + 5);
                const due = job?.response_due ? minutesOfDay(job.response_due) : null;
                return (
                  <div key={b.id}>
                    <div
                      className={`bar ${b.status}${b.locked ? " locked" : ""}`}
                      data-testid={`booking-${b.request_id}`}
                      data-request={b.request_id}
                      data-technician-id={b.technician_id}
                      draggable={!b.locked}
                      onDragStart={dragStart(b.request_id)}
                      onClick={() => props.onSelectJob(b.request_id)}
                      style={{
                        left: pct(start),
                        width: `calc(${pct(end)} - ${pct(start)})`,
                        background: PRIORITY_COLOURS[job?.priority ?? ""] ?? "#90a4ae",
                      }}
                      title={`${formatTime(b.planned_start, locale)}–${formatTime(b.planned_end, locale)} ${job?.description ?? ""}`}
                    >
                      {b.locked ? "🔒 " : ""}
                      {job?.priority} {formatTime(b.planned_start, locale)}
                    </div>
                    {due != null && <div className="deadline" style={{ left: pct(due) }} title={t("due")} />}
                  </div>
                );
              })}
            </div>
            {props.refusal?.technicianId === tech.id && (
              <p role="alert" className="refusal">
                {t("refused", { reason: props.refusal.reason })}
              </p>
            )}
          </div>
        ))}
      </div>
      <aside className="unassigned" aria-label={t("unassigned")}>
        <h3>{t("unassigned")}</h3>
        <ul>
          {queue.map((r) => (
            <li
              key={r.request_id}
              draggable={!r.assignment?.locked}
              data-testid={`queued-${r.request_id}`}
              data-request={r.request_id}
              data-technician-id={r.assignment?.technician_id ?? ""}
              onDragStart={dragStart(r.request_id)}
              onClick={() => props.onSelectJob(r.request_id)}
            >
              <b style={{ color: PRIORITY_COLOURS[r.priority] }}>{r.priority}</b> {r.description || r.kind}
              {r.assignment && (
                <small>
                  {" "}
                  → {nameOf(r.assignment.technician_id)}, {formatDateTime(r.assignment.planned_start, locale)}
                </small>
              )}
            </li>
          ))}
        </ul>
      </aside>
    </section>
  );
}
