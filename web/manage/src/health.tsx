import { useEffect, useState } from "react";
import { useI18n } from "@fieldline/shared";
import { must, useWorkspace, type Contract, type Health, type KpiReport, type Unit } from "./api";

/** One horizontal bar per value, to scale against the largest (or against `of` for shares). */
function Bars({ rows, of, label }: { rows: { name: string; value: number | null; colour?: string }[]; of?: number; label: string }) {
  const max = of ?? Math.max(1, ...rows.map((r) => r.value ?? 0));
  return (
    <svg className="bars" role="img" aria-label={label} viewBox={`0 0 320 ${rows.length * 22}`} width="100%">
      {rows.map((r, i) => (
        <g key={r.name} transform={`translate(0 ${i * 22})`}>
          <text x={0} y={14} fontSize={12}>
            {r.name}
          </text>
          <rect x={120} y={3} width={r.value == null ? 0 : (160 * r.value) / max} height={14} fill={r.colour ?? "#1565c0"} />
          <text x={124 + (r.value == null ? 0 : (160 * r.value) / max)} y={14} fontSize={12}>
            {r.value == null ? "—" : of === 1 ? `${Math.round(r.value * 100)}%` : r.value}
          </text>
        </g>
      ))}
    </svg>
  );
}

export function HealthPanel({ contract }: { contract: Contract }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [health, setHealth] = useState<Health | null>(null);
  const [kpis, setKpis] = useState<KpiReport | null>(null);
  const [perUnit, setPerUnit] = useState<KpiReport | null>(null);
  const [units, setUnits] = useState<Record<string, Unit>>({});

  useEffect(() => {
    must(api.contracts.GET("/contracts/{contract_id}/health", { params: { path: { contract_id: contract.id } } }))
      .then(setHealth)
      .catch(fail);
    // quality from the requests service's KPIs (first-time fix, CSAT) over its default span: 30 days to its now
    const query = { contract_id: contract.id };
    must(api.requests.GET("/kpis", { params: { query } }))
      .then((r) => setKpis(r as KpiReport))
      .catch(fail);
    must(api.requests.GET("/kpis", { params: { query: { ...query, group_by: "unit" } } }))
      .then((r) => setPerUnit(r as KpiReport))
      .catch(fail);
    for (const id of contract.equipment_ids ?? [])
      void must(api.contracts.GET("/equipment/{equipment_id}", { params: { path: { equipment_id: id } } })).then((u) =>
        setUnits((known) => ({ ...known, [u.id]: u })),
      );
  }, [api, contract, fail]);

  if (!health) return null;
  const v = health.visits;
  const total = kpis?.rows[0];
  return (
    <section className="health" aria-label={t("health")}>
      <h3>{t("health")}</h3>
      <div className="charts">
        <figure>
          <figcaption>{t("visits")}</figcaption>
          <Bars
            label={t("visits")}
            rows={[
              { name: t("visitsDue"), value: v.due },
              { name: t("visitsDone"), value: v.done, colour: "#2e7d32" },
              { name: t("visitsOverdue"), value: v.overdue, colour: "#c62828" },
              { name: t("visitsOpen"), value: v.open, colour: "#90a4ae" },
            ]}
          />
        </figure>
        <figure>
          <figcaption>{t("slaCompliance")}</figcaption>
          <Bars
            label={t("slaCompliance")}
            of={1}
            rows={[
              { name: t("response"), value: health.sla.response_compliance ?? null, colour: "#2e7d32" },
              { name: t("fix"), value: health.sla.fix_compliance ?? null, colour: "#2e7d32" },
              { name: t("firstTimeFix"), value: total?.first_time_fix.rate ?? null, colour: "#6a1b9a" },
            ]}
          />
          <p className="hint">
            {t("requestsN", { n: health.sla.requests })} · CSAT {total?.csat_mean?.toFixed(1) ?? "—"} ({total?.csat_count ?? 0})
            <br />
            {t("slaSpan")}
          </p>
        </figure>
        <figure>
          <figcaption>{t("quotaUse")}</figcaption>
          <Bars
            label={t("quotaUse")}
            of={1}
            rows={health.quotas.map((q) => ({
              name: `${t(`kind.${q.request_kind}`)} ${q.used ?? 0}/${q.included}`,
              value: q.included ? (q.used ?? 0) / q.included : null,
              colour: (q.used ?? 0) > q.included ? "#c62828" : "#ef6c00",
            }))}
          />
        </figure>
      </div>
      {perUnit && perUnit.rows.length > 0 && (
        <table className="rows">
          <caption>{t("perUnit")}</caption>
          <thead>
            <tr>
              <th>{t("unit")}</th>
              <th>{t("requests")}</th>
              <th>{t("firstTimeFix")}</th>
              <th>CSAT</th>
              <th>{t("response")}</th>
            </tr>
          </thead>
          <tbody>
            {perUnit.rows.map((r) => (
              <tr key={r.key ?? "none"}>
                <td>{r.key ? (units[r.key] ? `${units[r.key]!.equipment_type} ${units[r.key]!.serial}` : r.key.slice(0, 8)) : t("wholeSite")}</td>
                <td>{r.requests}</td>
                <td>{r.first_time_fix.rate == null ? "—" : `${Math.round(r.first_time_fix.rate * 100)}%`}</td>
                <td>{r.csat_mean?.toFixed(1) ?? "—"}</td>
                <td>{r.response_sla.rate == null ? "—" : `${Math.round(r.response_sla.rate * 100)}%`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
