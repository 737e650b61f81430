import { useEffect, useState } from "react";
import {
  atMinutesOfDay,
  formatDateTime,
  formatTime,
  minutesOfDay,
  useI18n,
  usePictures,
  type ApiClients,
} from "@fieldline/shared";
import type { Board, BoardRequest } from "./board";

interface Facts {
  customer: string | null;
  sla: { response_minutes: number; fix_minutes: number } | null;
  timeline: { status: string; at: string; detail: Record<string, unknown> }[];
  units: { id: string; label: string; history: { status: string; at: string; outcome?: string | null }[] }[];
  photos: { id: string; url: string }[]; // the customer's, of what is wrong
}

const NO_FACTS: Facts = { customer: null, sla: null, timeline: [], units: [], photos: [] };

/** What the other services know of the job, read when the detail opens: the customer, the contract's SLA for the
 * job's priority, the request's timeline and the customer's photos (requests) and each unit with its service
 * history (contracts). A planned visit has no request: those reads answer 404 and show nothing. */
async function readFacts(api: ApiClients, job: BoardRequest): Promise<Facts> {
  const [customer, request, photos, units] = await Promise.all([
    api.contracts.GET("/customers/{customer_id}", { params: { path: { customer_id: job.customer_id } } }),
    api.requests.GET("/requests/{request_id}", { params: { path: { request_id: job.request_id } } }),
    api.requests.GET("/requests/{request_id}/photos", { params: { path: { request_id: job.request_id } } }),
    Promise.all(
      job.equipment_ids.slice(0, 3).map(async (id) => {
        const [unit, history] = await Promise.all([
          api.contracts.GET("/equipment/{equipment_id}", { params: { path: { equipment_id: id } } }),
          api.contracts.GET("/equipment/{equipment_id}/history", {
            params: { path: { equipment_id: id }, query: { limit: 5 } },
          }),
        ]);
        const label = unit.data ? `${unit.data.equipment_type} ${unit.data.model} · ${unit.data.serial}` : id.slice(0, 8);
        return { id, label, history: history.data ?? [] };
      }),
    ),
  ]);
  const contractId = job.contract_id ?? (request.data && "contract_id" in request.data ? request.data.contract_id : null);
  let sla: Facts["sla"] = null;
  if (contractId) {
    const contract = await api.contracts.GET("/contracts/{contract_id}", { params: { path: { contract_id: contractId } } });
    sla = contract.data?.sla.find((term) => term.priority === job.priority) ?? null;
  }
  return {
    customer: customer.data?.name ?? null,
    sla,
    timeline: request.data?.timeline ?? [],
    units,
    photos: photos.data ?? [],
  };
}

const hours = (minutes: number) => (minutes % 60 ? `${(minutes / 60).toFixed(1)} h` : `${minutes / 60} h`);

export function JobDetail(props: {
  api: ApiClients;
  token: string;
  job: BoardRequest;
  board: Board;
  onClose: () => void;
  onLock: (assignmentId: string, locked: boolean) => Promise<void>;
  onMove: (job: BoardRequest, technicianId: string, start: string | null) => void;
}) {
  const { t, locale } = useI18n();
  const { job, api } = props;
  const tech = props.board.technicians.find((x) => x.id === job.assignment?.technician_id);
  const [facts, setFacts] = useState<Facts>(NO_FACTS);
  const pictures = usePictures("/api/requests", facts.photos, props.token);
  const [target, setTarget] = useState(job.assignment?.technician_id ?? "");
  const [at, setAt] = useState("");

  useEffect(() => {
    let live = true;
    setFacts(NO_FACTS);
    void readFacts(api, job).then((read) => live && setFacts(read));
    return () => {
      live = false;
    };
    // asked again for another job, not on each reload of the board (the job object changes with every one)
  }, [api, job.request_id]);

  // Keyboard and screen-reader users move a job here as others drag it: a technician, and a time or the server's.
  const move = () => {
    if (!target) return;
    const [h, m] = at.split(":").map(Number);
    const start = at && h !== undefined && m !== undefined ? atMinutesOfDay(props.board.at, h * 60 + m) : null;
    props.onMove(job, target, start);
  };

  return (
    <section className="job-detail" aria-label={t("job")} data-testid="job-detail">
      <h2>
        {t("job")} {job.priority} · {job.kind}
      </h2>
      <p>{job.description}</p>
      <dl>
        <dt>{t("customer")}</dt>
        <dd data-testid="job-customer">{facts.customer ?? "…"}</dd>
        <dt>{t("status")}</dt>
        <dd>{job.status}</dd>
        {job.address && (
          <>
            <dt>{t("address")}</dt>
            <dd>{job.address}</dd>
          </>
        )}
        {(job.contact_name || job.contact_phone) && (
          <>
            <dt>{t("siteContact")}</dt>
            <dd>
              {job.contact_name} {job.contact_phone && <a href={`tel:${job.contact_phone}`}>{job.contact_phone}</a>}
            </dd>
          </>
        )}
        {facts.sla && (
          <>
            <dt>{t("contractSla")}</dt>
            <dd data-testid="job-sla">
              {t("slaTerms", { response: hours(facts.sla.response_minutes), fix: hours(facts.sla.fix_minutes) })}
            </dd>
          </>
        )}
        {job.response_due && (
          <>
            <dt>{t("due")}</dt>
            <dd>{formatTime(job.response_due, locale)}</dd>
          </>
        )}
        <dt>{t("technician")}</dt>
        <dd data-testid="job-technician">
          {tech?.name ?? "—"} {tech?.phone && <a href={`tel:${tech.phone}`}>{tech.phone}</a>}
        </dd>
        {job.assignment && (
          <>
            <dt>{t("eta")}</dt>
            <dd>{formatTime(job.assignment.eta, locale)}</dd>
          </>
        )}
      </dl>
      {facts.photos.length > 0 && (
        <ul className="photos" data-testid="job-photos" aria-label={t("customerPhotos")}>
          {facts.photos.map((p) => (
            <li key={p.id}>
              {pictures[p.id] && (
                <a href={pictures[p.id]} target="_blank" rel="noreferrer">
                  <img src={pictures[p.id]} alt={t("customerPhotos")} />
                </a>
              )}
            </li>
          ))}
        </ul>
      )}
      {facts.units.map((unit) => (
        <div key={unit.id} className="unit">
          <h3>{unit.label}</h3>
          {unit.history.length === 0 ? (
            <p>{t("noHistory")}</p>
          ) : (
            <ul>
              {unit.history.map((h, i) => (
                <li key={i}>
                  {formatDateTime(h.at, locale)} · {h.status}
                  {h.outcome ? ` · ${h.outcome}` : ""}
                </li>
              ))}
            </ul>
          )}
        </div>
      ))}
      {facts.timeline.length > 0 && (
        <>
          <h3>{t("timeline")}</h3>
          <ol className="timeline" data-testid="job-timeline">
            {facts.timeline.map((e, i) => (
              <li key={i}>
                {formatTime(e.at, locale)} · {e.status}
                {typeof e.detail.reason === "string" && e.detail.reason ? ` · ${e.detail.reason}` : ""}
              </li>
            ))}
          </ol>
        </>
      )}
      <fieldset className="move">
        <legend>{t("moveTo")}</legend>
        <select aria-label={t("technician")} value={target} onChange={(e) => setTarget(e.target.value)}>
          <option value="">—</option>
          {props.board.technicians.map((x) => (
            <option key={x.id} value={x.id}>
              {x.name}
            </option>
          ))}
        </select>
        <input
          type="time"
          aria-label={t("startAt")}
          value={at}
          min={`${String(Math.floor(minutesOfDay(props.board.at) / 60)).padStart(2, "0")}:00`}
          onChange={(e) => setAt(e.target.value)}
        />
        <button type="button" disabled={!target} onClick={move}>
          {t("move")}
        </button>
      </fieldset>
      {job.assignment && (
        <button type="button" onClick={() => void props.onLock(job.assignment!.id, !job.assignment!.locked)}>
          {job.assignment.locked ? t("unlock") : t("lock")}
        </button>
      )}
      <button type="button" onClick={props.onClose}>
        {t("close")}
      </button>
    </section>
  );
}
