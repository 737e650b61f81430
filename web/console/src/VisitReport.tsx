import { useEffect, useState } from "react";
import { formatDateTime, useI18n, usePictures } from "@fieldline/shared";

/** GET /api/dispatch/requests/{id}/visit-report (services/dispatch/api/attachments.py): untyped in the OpenAPI. */
interface Report {
  status: string;
  outcome: string | null;
  finished_at: string | null;
  minutes_on_site: number | null;
  work_done: string;
  parts_used: { part: string; quantity: number }[];
  checklist: { item: string; done: boolean }[];
  signed_by: string | null;
  notes?: string;
  attachments: { id: string; kind: string; url: string }[];
}

/** The technician's report of a finished visit, with its photos and the customer's signature; nothing while
 * the job has none. Pictures are fetched with the token (an <img src> could not send it) and shown as blobs. */
export function VisitReport({ requestId, token, onClose }: { requestId: string; token: string; onClose: () => void }) {
  const { t, locale } = useI18n();
  const [report, setReport] = useState<Report | null>(null);
  const pictures = usePictures("/api/dispatch", report?.attachments ?? [], token);

  useEffect(() => {
    let gone = false;
    setReport(null);
    void (async () => {
      const response = await fetch(`${location.origin}/api/dispatch/requests/${requestId}/visit-report`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (response.ok && !gone) setReport((await response.json()) as Report);
    })();
    return () => {
      gone = true;
    };
  }, [requestId, token]);

  if (!report) return null;
  return (
    <section className="visit-report" aria-label={t("visitReport")}>
      <h2>
        {t("visitReport")} · {report.outcome ?? report.status}
      </h2>
      <dl>
        {report.finished_at && (
          <>
            <dt>{t("finished")}</dt>
            <dd>{formatDateTime(report.finished_at, locale)}</dd>
          </>
        )}
        {report.minutes_on_site !== null && (
          <>
            <dt>{t("onSite")}</dt>
            <dd>{t("minutes", { n: report.minutes_on_site })}</dd>
          </>
        )}
        <dt>{t("workDone")}</dt>
        <dd>{report.work_done || "—"}</dd>
        <dt>{t("parts")}</dt>
        <dd>{report.parts_used.map((p) => `${p.part} × ${p.quantity}`).join(", ") || "—"}</dd>
        <dt>{t("checklist")}</dt>
        <dd>{report.checklist.map((c) => `${c.done ? "✓" : "✗"} ${c.item}`).join("; ") || "—"}</dd>
        <dt>{t("signedBy")}</dt>
        <dd>{report.signed_by ?? "—"}</dd>
        {report.notes && (
          <>
            <dt>{t("notes")}</dt>
            <dd>{report.notes}</dd>
          </>
        )}
      </dl>
      <div className="pictures">
        {report.attachments.map((a) =>
          pictures[a.id] ? <img key={a.id} src={pictures[a.id]} alt={t(a.kind === "signature" ? "signature" : "photo")} /> : null,
        )}
      </div>
      <button type="button" onClick={onClose}>
        {t("close")}
      </button>
    </section>
  );
}
