import { useEffect, useState } from "react";
import { formatDateTime, formatTime, useI18n, type RequestsComponents } from "@fieldline/shared";
import { usePortal } from "./App";
import { siteName, unitName } from "./names";
import { linkProps } from "./router";
import { PastVisits } from "./Visits";

export type CustomerRequest = RequestsComponents["schemas"]["CustomerRequestOut"];

const FINISHED = new Set(["completed", "failed", "follow_up", "cancelled"]);

export function useMyRequests(): CustomerRequest[] | null {
  const { api, onUnauthorised } = usePortal();
  const [rows, setRows] = useState<CustomerRequest[] | null>(null);
  useEffect(() => {
    void api.requests.GET("/customer/requests", { params: { query: { limit: 200 } } }).then(({ data, response }) => {
      if (response.status === 401) onUnauthorised();
      setRows(data ?? []);
    });
  }, [api, onUnauthorised]);
  return rows;
}

export function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  return (
    <span className={`badge s-${status}`} data-testid="status">
      {t(`status.${status}`)}
    </span>
  );
}

function RequestCard({ request }: { request: CustomerRequest }) {
  const { t, locale } = useI18n();
  const { cover, navigate } = usePortal();
  const unit = unitName(cover, request.equipment_id);
  return (
    <li>
      <a className="card" {...linkProps(`requests/${request.id}`, navigate)} data-request={request.id}>
        <span className="card-head">
          <StatusBadge status={request.status} />
          <small>{formatDateTime(request.created_at, locale)}</small>
        </span>
        <strong>{siteName(cover, request.site_id) ?? request.site_address}</strong>
        {unit && <small>{unit}</small>}
        <span className="desc">{request.description}</span>
        {request.eta && !FINISHED.has(request.status) && (
          <small>
            {request.technician_first_name} · {t("eta")} {t("etaAbout", { time: formatTime(request.eta, locale) })}
          </small>
        )}
      </a>
    </li>
  );
}

export function RequestsPage() {
  const { t } = useI18n();
  const { navigate } = usePortal();
  const rows = useMyRequests();
  const open = rows?.filter((r) => !FINISHED.has(r.status)) ?? [];
  return (
    <section aria-labelledby="open-h">
      <a className="primary big" {...linkProps("new", navigate)}>
        {t("reportProblem")}
      </a>
      <h2 id="open-h">{t("openRequests")}</h2>
      {rows === null && <p>{t("loading")}</p>}
      {rows !== null && open.length === 0 && <p>{t("noOpenRequests")}</p>}
      <ul className="cards">
        {open.map((r) => (
          <RequestCard key={r.id} request={r} />
        ))}
      </ul>
    </section>
  );
}

export function HistoryPage() {
  const { t, locale } = useI18n();
  const rows = useMyRequests();
  const past = rows?.filter((r) => FINISHED.has(r.status)) ?? [];
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">{t("historyTitle")}</h2>
      {rows === null && <p>{t("loading")}</p>}
      {rows !== null && past.length === 0 && <p>{t("noHistory")}</p>}
      <ul className="cards">
        {past.map((r) => (
          <RequestCard key={r.id} request={r} />
        ))}
      </ul>
      <PastVisits />
      <p>
        <a href={`/api/requests/rating.html?lang=${locale}`} target="_blank" rel="noopener">
          {t("publicRating")}
        </a>
      </p>
    </section>
  );
}
