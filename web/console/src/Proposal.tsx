import { useI18n, type DispatchComponents } from "@fieldline/shared";

export type Proposal = DispatchComponents["schemas"]["ProposalOut"];

/** A re-plan computed but not applied: what it would move and why, its figures and the change budget; the
 * dispatcher applies it or lets it go. A refusal (the day moved on, the proposal expired) is shown in place. */
export function ProposalPanel(props: {
  proposal: Proposal;
  refusal: string | null;
  busy: boolean;
  onAccept: () => void;
  onDiscard: () => void;
  onProposeAgain: () => void;
}) {
  const { t } = useI18n();
  const { proposal } = props;
  const kpis = proposal.kpis;
  return (
    <section className="plan-changes proposal" aria-label={t("proposal")}>
      <h2>
        {t("proposal")} · {proposal.reason}
      </h2>
      <p data-testid="proposal-summary">
        {t("proposalCounts", {
          added: proposal.counts.added ?? 0,
          moved: proposal.counts.moved ?? 0,
          retimed: proposal.counts.retimed ?? 0,
          dropped: proposal.counts.dropped ?? 0,
        })}{" "}
        ·{" "}
        {proposal.change_budget == null
          ? t("noBudget")
          : t("changeBudget", { n: proposal.change_budget })}
      </p>
      <p>
        {t("proposalFigures", {
          travel: kpis.travel_minutes ?? 0,
          assigned: kpis.assigned ?? 0,
          unassigned: kpis.unassigned ?? 0,
          late: kpis.sla_misses ?? 0,
        })}
      </p>
      {proposal.changes.length === 0 && <p>{t("noChanges")}</p>}
      <ul>
        {proposal.changes.map((c, i) => (
          <li key={`${c.request_id}-${i}`} className={`change ${c.kind}`}>
            {c.text}
          </li>
        ))}
      </ul>
      {proposal.unassigned.length > 0 && (
        <>
          <h3>{t("leftUnassigned")}</h3>
          <ul>
            {proposal.unassigned.map((u) => (
              <li key={u.request_id}>
                {u.label}: {u.reason.replaceAll("_", " ")}
                {u.detail ? ` (${u.detail})` : ""}
              </li>
            ))}
          </ul>
        </>
      )}
      {props.refusal && (
        <p role="alert" className="refusal">
          {t("refused", { reason: props.refusal })}
        </p>
      )}
      <div className="actions">
        {props.refusal ? (
          <button type="button" disabled={props.busy} onClick={props.onProposeAgain}>
            {t("proposeAgain")}
          </button>
        ) : (
          <button type="button" className="primary" disabled={props.busy} onClick={props.onAccept}>
            {t("applyPlan")}
          </button>
        )}
        <button type="button" disabled={props.busy} onClick={props.onDiscard}>
          {t("discardPlan")}
        </button>
      </div>
    </section>
  );
}
