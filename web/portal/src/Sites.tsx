import { dateTimeFormat, useI18n, type ContractsComponents } from "@fieldline/shared";
import { usePortal } from "./App";
import { durationText, unitLabel } from "./names";
import { linkProps } from "./router";

type Contract = ContractsComponents["schemas"]["CoverContractOut"];
type VisitAhead = ContractsComponents["schemas"]["CoverVisitOut"] | null;

function day(iso: string, locale: string): string {
  return dateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));
}

function NextVisit({ visit }: { visit: VisitAhead }) {
  const { t, locale } = useI18n();
  return <small className="next-visit">{visit ? t("nextVisit", { date: day(visit.due_on, locale) }) : t("noVisit")}</small>;
}

function ContractTerms({ contract }: { contract: Contract }) {
  const { t, locale } = useI18n();
  return (
    <div className="terms" data-testid={`contract-${contract.id}`}>
      <p>
        <strong>{t("coveredBy", { type: t(`type.${contract.contract_type}`) })}</strong>{" "}
        <small>{contract.ends_on ? t("contractUntil", { date: day(contract.ends_on, locale) }) : t("openEnded")}</small>
      </p>
      <ul className="sla">
        {contract.sla.map((s) => (
          <li key={s.priority}>
            {t("slaRow", { p: s.priority, r: durationText(s.response_minutes, t), f: durationText(s.fix_minutes, t) })}
          </li>
        ))}
      </ul>
      <small>{contract.round_the_clock ? t("roundTheClock") : t("businessHours")}</small>
      {contract.quotas.length > 0 && (
        <ul className="quotas">
          {contract.quotas.map((q) => (
            <li key={q.request_kind}>
              {t("quotaRow", { kind: t(`kind.${q.request_kind}`), used: q.used, included: q.included, left: q.left })}{" "}
              {q.period_ends_on && <small>{t("quotaUntil", { date: day(q.period_ends_on, locale) })}</small>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function SitesPage() {
  const { t, locale } = useI18n();
  const { cover, navigate } = usePortal();
  if (!cover) return <p>{t("loading")}</p>;
  if (cover.sites.length === 0) return <p>{t("noSites")}</p>;
  const contractOf = (id: string | null) => cover.contracts.find((c) => c.id === id);
  return (
    <section aria-labelledby="sites-h">
      <h2 id="sites-h">{t("sitesTitle")}</h2>
      {cover.sites.map((site) => {
        const contract = contractOf(site.contract_id);
        return (
          <article key={site.id} className="site card" data-site={site.id}>
            <h3>{site.name}</h3>
            <p>{site.address}</p>
            {contract ? <ContractTerms contract={contract} /> : <p className="cover no">{t("noContract")}</p>}
            <NextVisit visit={site.next_visit} />
            {site.equipment.length > 0 && (
              <ul className="units">
                {site.equipment.map((u) => (
                  <li key={u.id}>
                    <span>{unitLabel(u)}</span>
                    {u.warranty_ends_on && <small> · {t("warrantyUntil", { date: day(u.warranty_ends_on, locale) })}</small>}
                    {u.contract_id !== site.contract_id && (
                      <small> · {u.contract_id ? t("coveredBy", { type: t(`type.${contractOf(u.contract_id)?.contract_type}`) }) : t("noContract")}</small>
                    )}
                    <br />
                    <NextVisit visit={u.next_visit} />{" "}
                    <a {...linkProps(`new?site=${site.id}&unit=${u.id}`, navigate)}>{t("reportHere")}</a>
                  </li>
                ))}
              </ul>
            )}
            <a className="primary" {...linkProps(`new?site=${site.id}`, navigate)}>
              {t("reportHere")}
            </a>
          </article>
        );
      })}
    </section>
  );
}
