import { memo } from "react";
import { formatTime, useI18n } from "@fieldline/shared";
import type { BoardRequest } from "./board";

export const AtRiskList = memo(function AtRiskList(props: {
  requests: BoardRequest[];
  onSelectJob: (id: string) => void;
}) {
  const { t, locale } = useI18n();
  const { onSelectJob } = props;
  const atRisk = props.requests.filter((r) => r.at_risk);
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
});
