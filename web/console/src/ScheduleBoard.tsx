import { memo, useCallback, useMemo, useRef, useState, type DragEvent } from "react";
import { atMinutesOfDay, formatDateTime, formatTime, minutesOfDay, minutesSince, useI18n } from "@fieldline/shared";
import type { Refusal } from "./App";
import type { Board, BoardRequest, BoardTechnician } from "./board";
import { PRIORITY_COLOURS, TECH_COLOURS } from "./colours";

const DAY_START = 6 * 60;
const DAY_END = 22 * 60;
const pct = (minutes: number) => `${((Math.min(Math.max(minutes, DAY_START), DAY_END) - DAY_START) / (DAY_END - DAY_START)) * 100}%`;

/** Left and width of the span between two instants on the track of `day`. */
const spanOn = (day: string) => (from: string, to: string) => {
  const a = minutesSince(day, from);
  const b = Math.max(minutesSince(day, to), a);
  return { left: pct(a), width: `calc(${pct(b)} - ${pct(a)})` };
};

export function ScheduleBoard(props: {
  board: Board;
  refusal: Refusal | null;
  onMove: (job: BoardRequest, technicianId: string, start: string | null) => void;
  onSelectJob: (id: string) => void;
  onSelectTech: (id: string) => void;
}) {
  const { t } = useI18n();
  const [over, setOver] = useState<string | null>(null);
  const jobs = useMemo(() => new Map(props.board.requests.map((r) => [r.request_id, r])), [props.board.requests]);
  // The queue: unassigned work, and work booked outside the day shown (e.g. an emergency placed tomorrow morning).
  // Worked out again only when the jobs, a route or a name changed: not when a technician merely moved.
  const { technicians, requests } = props.board;
  const queue = useShallowMemo(() => {
    const onRoute = new Set(technicians.flatMap((tech) => tech.route.map((b) => b.request_id)));
    const names = new Map(technicians.map((tech) => [tech.id, tech.name]));
    return requests
      .filter((r) => !onRoute.has(r.request_id))
      .map((job) => ({ job, bookedWith: job.assignment ? (names.get(job.assignment.technician_id) ?? "?") : null }));
  }, [requests, ...technicians.map((tech) => tech.route), ...technicians.map((tech) => tech.name)]);
  // The rows' handlers stay the same functions from frame to frame (a row is drawn again only when its technician
  // or the jobs change); they read the board and the callbacks of the latest render.
  const latest = useRef(props);
  latest.current = props;
  // Dropped on a row's track: that technician, at the time under the pointer (to 5 minutes); on the name: the
  // technician, and the server picks the time. The server's checks decide either way.
  const onDrop = useCallback((technicianId: string, event: DragEvent) => {
    event.preventDefault();
    setOver(null);
    const { board, onMove } = latest.current;
    const job = board.requests.find((r) => r.request_id === event.dataTransfer.getData("text/plain"));
    if (!job) return;
    const track = (event.target as HTMLElement).closest(".track");
    let start: string | null = null;
    if (track) {
      const box = track.getBoundingClientRect();
      const minutes = DAY_START + ((event.clientX - box.left) / box.width) * (DAY_END - DAY_START);
      start = atMinutesOfDay(board.at, Math.round(minutes / 5) * 5);
    }
    if (start === null && job.assignment?.technician_id === technicianId) return;
    onMove(job, technicianId, start);
  }, []);
  const onSelectJob = useCallback((id: string) => latest.current.onSelectJob(id), []);
  const onSelectTech = useCallback((id: string) => latest.current.onSelectTech(id), []);
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
          <TechnicianRow
            key={tech.id}
            tech={tech}
            jobs={jobs}
            day={props.board.day}
            at={props.board.at}
            over={over === tech.id}
            refusal={props.refusal?.technicianId === tech.id ? props.refusal.reason : null}
            onOver={setOver}
            onDrop={onDrop}
            onSelectJob={onSelectJob}
            onSelectTech={onSelectTech}
          />
        ))}
      </div>
      <Queue queue={queue} onSelectJob={onSelectJob} />
    </section>
  );
}

const dragStart = (requestId: string) => (event: DragEvent) => event.dataTransfer.setData("text/plain", requestId);

interface RowProps {
  tech: BoardTechnician;
  jobs: Map<string, BoardRequest>;
  day: string;
  at: string;
  over: boolean;
  refusal: string | null;
  onOver: (technicianId: string | null) => void;
  onDrop: (technicianId: string, event: DragEvent) => void;
  onSelectJob: (id: string) => void;
  onSelectTech: (id: string) => void;
}

/** A row is drawn again when one of its own props changed, and for the jobs only when a job on its route did: a job
 * filed elsewhere makes a new map of the jobs, but no row but its technician's reads it. */
export function sameRow(before: RowProps, after: RowProps): boolean {
  for (const key of Object.keys(after) as (keyof RowProps)[]) {
    if (key !== "jobs" && before[key] !== after[key]) return false;
  }
  return after.tech.route.every((b) => before.jobs.get(b.request_id) === after.jobs.get(b.request_id));
}

/** One technician's Gantt row: shift, overtime, breaks, travel, bookings, deadlines and the current-time line. */
const TechnicianRow = memo(function TechnicianRow(props: RowProps) {
  const { t, locale } = useI18n();
  const { tech } = props;
  const span = spanOn(props.day);
  return (
    <div
      className={props.over ? "row over" : "row"}
      data-testid={`row-${tech.id}`}
      data-technician={tech.name}
      onDragOver={(e) => {
        e.preventDefault();
        if (!props.over) props.onOver(tech.id);
      }}
      onDragLeave={() => props.onOver(null)}
      onDrop={(e) => props.onDrop(tech.id, e)}
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
          return from && minutesSince(props.day, b.eta) > minutesSince(props.day, from) ? (
            <div
              key={`travel-${b.id}`}
              className="travel"
              title={`${t("travel")} ${formatTime(from, locale)}–${formatTime(b.eta, locale)}`}
              style={span(from, b.eta)}
            />
          ) : null;
        })}
        <div className="now" style={{ left: pct(minutesOfDay(props.at)) }} />
        {tech.route.map((b) => {
          const job = props.jobs.get(b.request_id);
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
      {props.refusal && (
        <p role="alert" className="refusal">
          {t("refused", { reason: props.refusal })}
        </p>
      )}
    </div>
  );
}, sameRow);

/** The queue beside the board: unassigned work, and work booked outside the day shown (with whom and when). */
const Queue = memo(function Queue(props: {
  queue: { job: BoardRequest; bookedWith: string | null }[];
  onSelectJob: (id: string) => void;
}) {
  const { t, locale } = useI18n();
  return (
    <aside className="unassigned" aria-label={t("unassigned")}>
      <h3>{t("unassigned")}</h3>
      <ul>
        {props.queue.map(({ job, bookedWith }) => (
          <QueueItem key={job.request_id} job={job} bookedWith={bookedWith} locale={locale} onSelectJob={props.onSelectJob} />
        ))}
      </ul>
    </aside>
  );
});

/** One job of the queue: drawn again only when that job (or with whom it is booked) changed. */
const QueueItem = memo(function QueueItem(props: {
  job: BoardRequest;
  bookedWith: string | null;
  locale: string;
  onSelectJob: (id: string) => void;
}) {
  const { job: r, bookedWith, locale } = props;
  return (
    <li
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
          → {bookedWith}, {formatDateTime(r.assignment.planned_start, locale)}
        </small>
      )}
    </li>
  );
});

/** `compute()`'s value, worked out again only when an item of `deps` is no longer the same (by identity). */
function useShallowMemo<T>(compute: () => T, deps: readonly unknown[]): T {
  const memo = useRef<{ deps: readonly unknown[]; value: T } | null>(null);
  const last = memo.current;
  if (!last || last.deps.length !== deps.length || last.deps.some((d, i) => d !== deps[i])) {
    memo.current = { deps, value: compute() };
  }
  return memo.current!.value;
}
