import { useCallback, useEffect, useRef, useState } from "react";
import {
  CrimeaMap,
  followStream,
  formatDateTime,
  formatTime,
  project,
  useI18n,
  usePictures,
  type DispatchComponents,
  type Problem,
  type RequestsComponents,
} from "@fieldline/shared";
import { usePortal } from "./App";
import { siteName, unitName } from "./names";
import { StatusBadge } from "./Requests";
import { linkProps } from "./router";

type Detail = RequestsComponents["schemas"]["CustomerRequestDetail"];
type TimelineEntry = RequestsComponents["schemas"]["CustomerTimelineEntry"];
type Visit = DispatchComponents["schemas"]["CustomerVisitOut"];
type Survey = RequestsComponents["schemas"]["SurveyOut"];
type Photo = RequestsComponents["schemas"]["PhotoOut"];

// while the technician drives here the position moves without a timeline entry: read it this often
const POSITION_POLL_MS = 5000;

export function TrackPage({ requestId }: { requestId: string }) {
  const { t, locale } = useI18n();
  const { api, session, cover, navigate, onUnauthorised } = usePortal();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [visit, setVisit] = useState<Visit | null>(null);
  const [missing, setMissing] = useState(false);
  const [live, setLive] = useState(false);
  const [photos, setPhotos] = useState<Photo[]>([]);
  const pictures = usePictures("/api/requests", photos, session.accessToken);
  const techPhotoUrl = visit?.technician_photo_url ?? null;
  const techPhoto = usePictures(
    "/api/dispatch",
    techPhotoUrl ? [{ id: techPhotoUrl, url: techPhotoUrl }] : [],
    session.accessToken,
  )[techPhotoUrl ?? ""];
  useEffect(() => {
    void api.requests
      .GET("/requests/{request_id}/photos", { params: { path: { request_id: requestId } } })
      .then(({ data }) => setPhotos(data ?? []));
  }, [api, requestId]);

  const reload = useCallback(async () => {
    const path = { params: { path: { request_id: requestId } } };
    const [shown, seen] = await Promise.all([
      api.requests.GET("/customer/requests/{request_id}", path),
      api.dispatch.GET("/customer/requests/{request_id}/visit", path),
    ]);
    if (shown.response.status === 401) return onUnauthorised();
    if (shown.response.status === 404 || shown.response.status === 422) setMissing(true);
    if (shown.data) setDetail(shown.data);
    if (seen.data) setVisit(seen.data);
  }, [api, requestId, onUnauthorised]);

  useEffect(() => {
    void reload();
    let pending: ReturnType<typeof setTimeout> | null = null;
    const stop = followStream(
      `${location.origin}/api/requests/customer/requests/${requestId}/stream`,
      () => session.accessToken,
      () => {
        if (pending === null) pending = setTimeout(() => ((pending = null), void reload()), 150);
      },
      setLive,
    );
    return () => {
      stop();
      if (pending !== null) clearTimeout(pending);
    };
  }, [reload, requestId, session]);

  const enRoute = visit?.status === "en_route";
  useEffect(() => {
    if (!enRoute) return;
    const timer = setInterval(() => void reload(), POSITION_POLL_MS);
    return () => clearInterval(timer);
  }, [enRoute, reload]);

  if (missing) return <p role="alert">{t("notFound")}</p>;
  if (!detail) return <p>{t("loading")}</p>;
  const unit = unitName(cover, detail.equipment_id);
  const finished = ["completed", "failed", "follow_up", "cancelled"].includes(detail.status);
  return (
    <article className="track" aria-labelledby="track-h">
      <h2 id="track-h">{t("requestTitle", { date: formatDateTime(detail.created_at, locale) })}</h2>
      <p className="where">
        <strong>{siteName(cover, detail.site_id) ?? detail.site_address}</strong>
        {unit && <span> · {unit}</span>}
      </p>
      <p className="desc">{detail.description}</p>
      <div className="now">
        <StatusBadge status={detail.status} />
        <span className={live ? "live on" : "live off"} data-testid="live">
          {live ? t("live") : t("offline")}
        </span>
      </div>
      <dl className="facts">
        {detail.technician_first_name && !finished && (
          <>
            <dt>{t("technician")}</dt>
            <dd data-testid="technician">
              {techPhoto && <img className="tech-photo" src={techPhoto} alt="" data-testid="technician-photo" />}
              {detail.technician_first_name}
            </dd>
          </>
        )}
        {detail.eta && !finished && detail.status !== "on_site" && (
          <>
            <dt>{t("eta")}</dt>
            <dd data-testid="eta">{t("etaAbout", { time: formatTime(detail.eta, locale) })}</dd>
          </>
        )}
        {detail.response_due && !finished && (
          <>
            <dt>{t("responseDue")}</dt>
            <dd>{formatDateTime(detail.response_due, locale)}</dd>
          </>
        )}
        {detail.billable && (
          <>
            <dt>{t("status")}</dt>
            <dd>{t("billable")}</dd>
          </>
        )}
      </dl>
      {photos.length > 0 && (
        <section aria-label={t("yourPhotos")}>
          <h3>{t("yourPhotos")}</h3>
          <ul className="photos" data-testid="request-photos">
            {photos.map((p) => (
              <li key={p.id}>{pictures[p.id] && <img src={pictures[p.id]} alt={t("photo")} />}</li>
            ))}
          </ul>
        </section>
      )}
      {enRoute && visit?.position && visit.site && <TechnicianMap visit={visit} />}
      {detail.may_cancel && <CancelRequest requestId={requestId} onDone={() => void reload()} />}
      {!detail.may_cancel && ["en_route", "on_site"].includes(detail.status) && <p className="note">{t("cancelLate")}</p>}
      {detail.follow_up_request_id && (
        <p>
          <a {...linkProps(`requests/${detail.follow_up_request_id}`, navigate)}>{t("followUp")}</a>
        </p>
      )}
      {detail.follow_up_of && (
        <p>
          <a {...linkProps(`requests/${detail.follow_up_of}`, navigate)}>{t("followUpOf")}</a>
        </p>
      )}
      <Timeline entries={detail.timeline} />
      {visit?.report && <CompletionReport report={visit.report} requestId={requestId} token={session.accessToken} />}
      {detail.status === "completed" && <SurveyForm requestId={requestId} />}
      {finished && (
        <p className="print-only-hide">
          <button type="button" onClick={() => print()}>
            {t("print")}
          </button>{" "}
          <small>{t("printHint")}</small>
        </p>
      )}
    </article>
  );
}

// the smallest stretch of the map shown around the technician and the site: about 40 km across
const MIN_SPAN = 120;

function TechnicianMap({ visit }: { visit: Visit }) {
  const { t, locale } = useI18n();
  const site = project(visit.site!.lon, visit.site!.lat);
  const tech = project(visit.position!.lon, visit.position!.lat);
  const span = Math.max(Math.abs(site.x - tech.x), (Math.abs(site.y - tech.y) * 4) / 3, MIN_SPAN) * 1.5;
  const focus = { x: (site.x + tech.x - span) / 2, y: (site.y + tech.y - (span * 3) / 4) / 2, width: span, height: (span * 3) / 4 };
  const k = span / 500; // markers keep their size on screen whatever the zoom
  return (
    <figure className="map">
      <CrimeaMap locale={locale} label={t("trackMap")} focus={focus}>
        <line x1={tech.x} y1={tech.y} x2={site.x} y2={site.y} stroke="#00695c" strokeWidth={4 * k} strokeDasharray={`${10 * k} ${6 * k}`} />
        <rect x={site.x - 12 * k} y={site.y - 12 * k} width={24 * k} height={24 * k} fill="#c62828" stroke="#fff" strokeWidth={3 * k} />
        <circle data-testid="tech-position" cx={tech.x} cy={tech.y} r={16 * k} fill="#00695c" stroke="#fff" strokeWidth={4 * k}>
          <title>{visit.technician_first_name ?? ""}</title>
        </circle>
      </CrimeaMap>
      {visit.position!.at && (
        <figcaption>
          {visit.technician_first_name} · {t("positionAt", { time: formatTime(visit.position!.at, locale) })}
        </figcaption>
      )}
    </figure>
  );
}

function entryText(entry: TimelineEntry, t: (k: string, v?: Record<string, string | number>) => string, locale: string) {
  const d = entry.detail as Record<string, string | undefined>;
  switch (entry.status) {
    case "assigned":
    case "reassigned":
      return t(`tl.${entry.status}`, { name: d.technician_first_name ?? "" });
    case "eta_changed":
      return t("tl.eta_changed", { eta: d.eta ? formatTime(d.eta, locale) : "" });
    case "failed":
      return d.outcome ? `${t("tl.failed")}: ${t(`outcome.${d.outcome}`)}` : t("tl.failed");
    case "cancelled":
      return d.by === "customer"
        ? `${t("tl.cancelled.customer")}${d.reason ? `: ${d.reason}` : ""}`
        : t("tl.cancelled.company");
    default:
      return t(`tl.${entry.status}`);
  }
}

function Timeline({ entries }: { entries: TimelineEntry[] }) {
  const { t, locale } = useI18n();
  return (
    <section aria-labelledby="tl-h">
      <h3 id="tl-h">{t("timeline")}</h3>
      <ol className="timeline">
        {entries.map((e) => (
          <li key={e.id} data-entry={e.status}>
            <time dateTime={e.at}>{formatTime(e.at, locale)}</time> {entryText(e, t, locale)}
          </li>
        ))}
      </ol>
    </section>
  );
}

function CancelRequest({ requestId, onDone }: { requestId: string; onDone: () => void }) {
  const { t } = useI18n();
  const { api } = usePortal();
  const [open, setOpen] = useState(false);
  const [choice, setChoice] = useState("cancelFixed");
  const [other, setOther] = useState("");
  const [refusal, setRefusal] = useState<string | null>(null);
  const reason = choice === "cancelOther" ? other.trim() : t(choice);
  if (!open)
    return (
      <button type="button" className="danger" onClick={() => setOpen(true)}>
        {t("cancel")}
      </button>
    );
  const confirm = async () => {
    const { error, response } = await api.requests.POST("/customer/requests/{request_id}/cancel", {
      params: { path: { request_id: requestId } },
      body: { reason },
    });
    if (error) setRefusal(t("cancelRefused", { why: (error as Problem).detail ?? String(response.status) }));
    else setOpen(false);
    onDone();
  };
  return (
    <fieldset className="cancel">
      <legend>{t("cancelReason")}</legend>
      {["cancelFixed", "cancelMistake", "cancelOther"].map((key) => (
        <label key={key} className="choice-line">
          <input type="radio" name="cancel" checked={choice === key} onChange={() => setChoice(key)} /> {t(key)}
        </label>
      ))}
      {choice === "cancelOther" && (
        <textarea aria-label={t("cancelReason")} value={other} onChange={(e) => setOther(e.target.value)} maxLength={1000} />
      )}
      {refusal && <p role="alert">{refusal}</p>}
      <div className="row">
        <button type="button" className="danger" disabled={!reason} onClick={() => void confirm()}>
          {t("cancelConfirm")}
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          {t("keep")}
        </button>
      </div>
    </fieldset>
  );
}

/** The pictures of a finished visit's report (photos and the signature), as dispatch gives them to the job's
 * customer: GET /api/dispatch/requests/{id}/visit-report (its attachments' urls relative to the dispatch API). */
function useReportPictures(requestId: string, token: string): { id: string; kind: string; url: string }[] {
  const [attachments, setAttachments] = useState<{ id: string; kind: string; url: string }[]>([]);
  useEffect(() => {
    let gone = false;
    void fetch(`${location.origin}/api/dispatch/requests/${requestId}/visit-report`, {
      headers: { Authorization: `Bearer ${token}` },
    })
      .then((response) => (response.ok ? response.json() : null))
      .then((report: { attachments?: { id: string; kind: string; url: string }[] } | null) => {
        if (!gone) setAttachments(report?.attachments ?? []);
      });
    return () => {
      gone = true;
    };
  }, [requestId, token]);
  return attachments;
}

export function CompletionReport({
  report,
  requestId,
  token,
}: {
  report: NonNullable<Visit["report"]>;
  requestId: string;
  token: string;
}) {
  const { t } = useI18n();
  const attachments = useReportPictures(requestId, token);
  const pictures = usePictures("/api/dispatch", attachments, token);
  const photos = attachments.filter((a) => a.kind === "photo");
  const signature = attachments.find((a) => a.kind === "signature");
  return (
    <section className="report" aria-labelledby="report-h">
      <h3 id="report-h">{t("report")}</h3>
      <dl className="facts">
        {report.work_done && (
          <>
            <dt>{t("workDone")}</dt>
            <dd>{report.work_done}</dd>
          </>
        )}
        {report.parts_used.length > 0 && (
          <>
            <dt>{t("partsUsed")}</dt>
            <dd>{report.parts_used.map((p) => `${p.part} × ${p.quantity}`).join(", ")}</dd>
          </>
        )}
        {report.signed_by && (
          <>
            <dt>{t("signedBy")}</dt>
            <dd>
              {report.signed_by}
              {signature && pictures[signature.id] && (
                <img className="signature" src={pictures[signature.id]} alt={t("signature")} data-testid="report-signature" />
              )}
            </dd>
          </>
        )}
      </dl>
      {photos.length > 0 && (
        <ul className="photos" data-testid="report-photos" aria-label={t("reportPhotos")}>
          {photos.map((p) => (
            <li key={p.id}>{pictures[p.id] && <img src={pictures[p.id]} alt={t("reportPhotos")} />}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

function SurveyForm({ requestId }: { requestId: string }) {
  const { t } = useI18n();
  const { api } = usePortal();
  const [survey, setSurvey] = useState<Survey | null>(null);
  const [csat, setCsat] = useState<number | null>(null);
  const [nps, setNps] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);
  const tries = useRef(0);

  useEffect(() => {
    let stop = false;
    // the invitation is written with the completion; a moment's lag between the two reads is retried
    const load = async () => {
      const { data } = await api.requests.GET("/requests/{request_id}/survey", {
        params: { path: { request_id: requestId } },
      });
      if (stop) return;
      if (data) setSurvey(data);
      else if (tries.current++ < 5) setTimeout(() => void load(), 1000);
    };
    void load();
    return () => {
      stop = true;
    };
  }, [api, requestId]);

  if (!survey) return null;
  if (survey.answered)
    return (
      <p className="thanks" role="status">
        {t("thanks", { csat: survey.csat ?? "" })}
      </p>
    );
  const send = async () => {
    if (csat === null) return;
    const { data, error: problem } = await api.requests.POST("/requests/{request_id}/survey", {
      params: { path: { request_id: requestId } },
      body: { csat, nps, comment },
    });
    if (data) setSurvey(data);
    else setError((problem as Problem | undefined)?.detail ?? "error");
  };
  return (
    <section className="survey" aria-labelledby="survey-h">
      <h3 id="survey-h">{t("survey")}</h3>
      <div role="radiogroup" aria-label={t("csat")} className="scale">
        {[1, 2, 3, 4, 5].map((n) => (
          <button key={n} type="button" role="radio" aria-checked={csat === n} aria-label={t("stars", { n })} onClick={() => setCsat(n)}>
            {n <= (csat ?? 0) ? "★" : "☆"}
          </button>
        ))}
      </div>
      <div role="radiogroup" aria-label={t("nps")} className="scale nps">
        <span>{t("nps")}</span>
        {Array.from({ length: 11 }, (_, n) => (
          <button key={n} type="button" role="radio" aria-checked={nps === n} onClick={() => setNps(n)}>
            {n}
          </button>
        ))}
      </div>
      <label>
        {t("comment")}
        <textarea value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} rows={2} />
      </label>
      {error && <p role="alert">{error}</p>}
      <button type="button" className="primary" disabled={csat === null} onClick={() => void send()}>
        {t("sendRating")}
      </button>
    </section>
  );
}
