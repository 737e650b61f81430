import { useEffect, useState } from "react";
import { dateTimeFormat, useI18n, type ContractsComponents, type DispatchComponents } from "@fieldline/shared";
import { usePortal } from "./App";
import { siteName } from "./names";
import { linkProps } from "./router";
import { CompletionReport } from "./Track";

type PastVisit = ContractsComponents["schemas"]["PastVisitOut"];
type Visit = DispatchComponents["schemas"]["CustomerVisitOut"];

function day(iso: string, locale: string): string {
  return dateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));
}

/** The planned maintenance visits that took place, each opening its report. */
export function PastVisits() {
  const { t, locale } = useI18n();
  const { api, cover, navigate } = usePortal();
  const [visits, setVisits] = useState<PastVisit[] | null>(null);
  useEffect(() => {
    void api.contracts.GET("/customer/visits").then(({ data }) => setVisits(data ?? []));
  }, [api]);
  if (!visits || visits.length === 0) return null;
  return (
    <section aria-labelledby="visits-h">
      <h3 id="visits-h">{t("pastVisits")}</h3>
      <ul className="cards">
        {visits.map((v) => (
          <li key={v.id}>
            <a className="card" {...linkProps(`visits/${v.id}`, navigate)} data-visit={v.id}>
              <span className="card-head">
                <span className={`badge s-${v.status === "done" ? "completed" : "failed"}`}>{t(`visit.${v.status}`)}</span>
                <small>{day(v.due_on, locale)}</small>
              </span>
              <strong>{siteName(cover, v.site_id)}</strong>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** One planned visit's page: when, where, and the technician's report (printable). */
export function VisitPage({ visitId }: { visitId: string }) {
  const { t } = useI18n();
  const { api, session } = usePortal();
  const [visit, setVisit] = useState<Visit | null>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    void api.dispatch
      .GET("/customer/requests/{request_id}/visit", { params: { path: { request_id: visitId } } })
      .then(({ data }) => (data ? setVisit(data) : setMissing(true)));
  }, [api, visitId]);
  if (missing) return <p role="alert">{t("notFound")}</p>;
  if (!visit) return <p>{t("loading")}</p>;
  return (
    <article className="track" aria-labelledby="visit-h">
      <h2 id="visit-h">{t("plannedVisit")}</h2>
      {visit.report ? (
        <CompletionReport report={visit.report} requestId={visitId} token={session.accessToken} />
      ) : (
        <p>{t("noReport")}</p>
      )}
      <p className="print-only-hide">
        <button type="button" onClick={() => print()}>
          {t("print")}
        </button>{" "}
        <small>{t("printHint")}</small>
      </p>
    </article>
  );
}
