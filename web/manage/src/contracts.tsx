import { useCallback, useEffect, useState, type FormEvent } from "react";
import { COMPANY_TIME_ZONE, formatDateTime, useI18n } from "@fieldline/shared";
import { formatHours, must, parseHours, useWorkspace, type Contract, type ContractIn, type Customer, type Site, type TransitionPreview, type Unit } from "./api";
import { HealthPanel } from "./health";
import { ContractVisits, SchedulesPanel } from "./schedules";

const PRIORITIES = ["P1", "P2", "P3", "P4"] as const;
const STATUSES = ["draft", "active", "suspended", "expired", "terminated"] as const;

export function ContractsView({ opened, onOpen }: { opened: string | null; onOpen: (id: string | null) => void }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [status, setStatus] = useState("");
  const [contracts, setContracts] = useState<Contract[]>([]);
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const [version, setVersion] = useState(0);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  useEffect(() => {
    const query = { status: status || undefined, customer_id: customer?.id, limit: 50, offset };
    must(api.contracts.GET("/contracts", { params: { query } }))
      .then(async (page) => {
        setContracts(page);
        // the page's customers by name (at most 50 look-ups, each customer once)
        const missing = [...new Set(page.map((c) => c.customer_id))].filter((id) => !(id in names));
        const found = await Promise.all(
          missing.map((id) => must(api.contracts.GET("/customers/{customer_id}", { params: { path: { customer_id: id } } }))),
        );
        if (found.length) setNames((known) => ({ ...known, ...Object.fromEntries(found.map((c) => [c.id, c.name])) }));
      })
      .catch(fail);
    // names is a cache: reading it must not re-run the query
  }, [api, status, customer, offset, version, fail]);
  return (
    <div className="two-panes">
      <section aria-label={t("section.contracts")}>
        <h2>{t("section.contracts")}</h2>
        <label>
          {t("status")}{" "}
          <select value={status} onChange={(e) => (setStatus(e.target.value), setOffset(0))}>
            <option value="">{t("all")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <CustomerPicker value={customer} onChange={(c) => (setCustomer(c), setOffset(0))} />
        <ul className="plain contract-list">
          {contracts.map((c) => (
            <li key={c.id}>
              <button type="button" className="link" aria-pressed={opened === c.id} onClick={() => (onOpen(c.id), setCreating(false))}>
                {names[c.customer_id] ?? "…"} · {t(`type.${c.contract_type}`)} · {c.starts_on} – {c.ends_on ?? "…"}
              </button>{" "}
              <span className={`status ${c.status}`}>{t(`status.${c.status}`)}</span>
            </li>
          ))}
        </ul>
        <div className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 50))}>
            ← {t("previous")}
          </button>
          <button type="button" disabled={contracts.length < 50} onClick={() => setOffset(offset + 50)}>
            {t("next")} →
          </button>
        </div>
        <button type="button" onClick={() => (setCreating(true), onOpen(null))}>
          {t("newContract")}
        </button>
      </section>
      {creating && (
        <ContractForm
          onCreated={(c) => {
            setCreating(false);
            setVersion((v) => v + 1);
            onOpen(c.id);
          }}
        />
      )}
      {opened && !creating && <ContractDetail key={opened} contractId={opened} onChanged={() => setVersion((v) => v + 1)} />}
    </div>
  );
}

/** Pick a customer by searching (tens of thousands: never a full drop-down). */
export function CustomerPicker({ value, onChange }: { value: Customer | null; onChange: (c: Customer | null) => void }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Customer[]>([]);
  useEffect(() => {
    if (!q.trim()) return setFound([]);
    const timer = setTimeout(() => {
      must(api.contracts.GET("/customers", { params: { query: { q: q.trim(), limit: 10 } } }))
        .then(setFound)
        .catch(fail);
    }, 200);
    return () => clearTimeout(timer);
  }, [api, q, fail]);
  if (value)
    return (
      <p>
        {t("customer")}: <strong>{value.name}</strong>{" "}
        <button type="button" onClick={() => onChange(null)}>
          {t("change")}
        </button>
      </p>
    );
  return (
    <div className="picker">
      <input type="search" aria-label={t("findCustomer")} placeholder={t("findCustomer")} value={q} onChange={(e) => setQ(e.target.value)} />
      <ul className="plain">
        {found.map((c) => (
          <li key={c.id}>
            <button type="button" className="link" onClick={() => onChange(c)}>
              {c.name}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

interface SlaRow {
  on: boolean;
  response: string;
  fix: string;
}

const DEFAULT_SLA: Record<string, SlaRow> = {
  P1: { on: true, response: "240", fix: "480" },
  P2: { on: true, response: "480", fix: "1440" },
  P3: { on: true, response: "1440", fix: "4320" },
  P4: { on: false, response: "2880", fix: "10080" },
};

/** The units of a covered site the contract names; none named covers the whole site. */
function CoveredUnits(props: { siteId: string; chosen: string[]; onChange: (ids: string[]) => void; onUnits: (siteId: string, ids: string[]) => void }) {
  const { siteId, chosen, onChange, onUnits } = props;
  const { api, fail } = useWorkspace();
  const [units, setUnits] = useState<Unit[]>([]);
  useEffect(() => {
    must(api.contracts.GET("/sites/{site_id}/equipment", { params: { path: { site_id: siteId }, query: { limit: 200 } } }))
      .then((found) => {
        setUnits(found);
        onUnits(siteId, found.map((u) => u.id));
      })
      .catch(fail);
  }, [api, siteId, onUnits, fail]);
  return (
    <div className="units">
      {units.map((u) => (
        <label key={u.id} className="check">
          <input
            type="checkbox"
            checked={chosen.includes(u.id)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, u.id] : chosen.filter((x) => x !== u.id))}
          />
          {u.equipment_type} {u.model} {u.serial}
        </label>
      ))}
    </div>
  );
}

/** A country's public holidays pre-filled from the service (the `holidays` package), then edited by hand. */
export function HolidaysEditor({ value, onChange, year }: { value: string[]; onChange: (days: string[]) => void; year: number }) {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [country, setCountry] = useState("RU");
  const [names, setNames] = useState<Record<string, string>>({});
  const [added, setAdded] = useState("");
  const prefill = () => {
    must(api.contracts.GET("/holidays", { params: { query: { country, year, language: locale } } }))
      .then((days) => {
        setNames({ ...names, ...Object.fromEntries(days.map((d) => [d.date, d.name])) });
        onChange([...new Set([...value, ...days.map((d) => d.date)])].sort());
      })
      .catch(fail);
  };
  return (
    <fieldset className="holidays">
      <legend>{t("holidays")}</legend>
      <label>
        {t("country")} <input size={3} maxLength={2} value={country} onChange={(e) => setCountry(e.target.value.toUpperCase())} />
      </label>{" "}
      <button type="button" onClick={prefill}>
        {t("prefillHolidays", { year })}
      </button>
      <ul className="chips" aria-label={t("holidays")}>
        {value.map((d) => (
          <li key={d}>
            {d} {names[d] ? <small>{names[d]}</small> : null}
            <button type="button" aria-label={t("remove", { what: d })} onClick={() => onChange(value.filter((x) => x !== d))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <label>
        {t("addHoliday")} <input type="date" value={added} onChange={(e) => setAdded(e.target.value)} />
      </label>
      <button type="button" disabled={!added} onClick={() => (onChange([...new Set([...value, added])].sort()), setAdded(""))}>
        {t("add")}
      </button>
    </fieldset>
  );
}

/** The form's SLA rows from a contract's terms (every priority listed; those without a term unticked). */
function slaRows(contract: Contract): Record<string, SlaRow> {
  const rows = { ...DEFAULT_SLA };
  for (const p of PRIORITIES) rows[p] = { ...DEFAULT_SLA[p]!, on: false };
  for (const term of contract.sla) rows[term.priority] = { on: true, response: String(term.response_minutes), fix: String(term.fix_minutes) };
  return rows;
}

/** A new contract, or (given `existing`) the terms of one that may still change: customer, type and start stay. */
function ContractForm({ onCreated, existing, customerOf }: { onCreated: (c: Contract) => void; existing?: Contract; customerOf?: Customer | null }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const quota = (kind: string) => String(existing?.quotas?.find((q) => q.request_kind === kind)?.included ?? "");
  const periodOf = (kind: string): QuotaPeriod => existing?.quotas?.find((q) => q.request_kind === kind)?.period ?? "year";
  const [customer, setCustomer] = useState<Customer | null>(customerOf ?? null);
  const [sites, setSites] = useState<Site[]>([]);
  const [siteIds, setSiteIds] = useState<string[]>(existing?.site_ids ?? []);
  const [unitIds, setUnitIds] = useState<string[]>(existing?.equipment_ids ?? []);
  // which site each shown unit is at: a unit of a site no longer ticked is not sent
  const [unitSite, setUnitSite] = useState<Record<string, string>>({});
  const onUnits = useCallback(
    (siteId: string, ids: string[]) => setUnitSite((known) => ({ ...known, ...Object.fromEntries(ids.map((id) => [id, siteId])) })),
    [],
  );
  const [type, setType] = useState<ContractIn["contract_type"]>((existing?.contract_type as ContractIn["contract_type"]) ?? "full_maintenance");
  const [startsOn, setStartsOn] = useState(existing?.starts_on ?? new Date().toISOString().slice(0, 10));
  const [endsOn, setEndsOn] = useState(existing?.ends_on ?? "");
  const [sla, setSla] = useState(existing ? slaRows(existing) : DEFAULT_SLA);
  const [roundTheClock, setRoundTheClock] = useState(existing ? !existing.business_hours : false);
  const [hours, setHours] = useState(existing?.business_hours ? formatHours(existing.business_hours) : "mon-fri 09:00-18:00");
  const [holidays, setHolidays] = useState<string[]>(existing?.holidays ?? []);
  const [emergencies, setEmergencies] = useState(existing ? quota("emergency") : "12");
  const [routine, setRoutine] = useState(existing ? quota("routine") : "");
  // each kind's quota counts per calendar month, per year or over the whole contract
  const [emergencyPeriod, setEmergencyPeriod] = useState<QuotaPeriod>(periodOf("emergency"));
  const [routinePeriod, setRoutinePeriod] = useState<QuotaPeriod>(periodOf("routine"));
  const [price, setPrice] = useState<{ amount: string; currency: string; billing: string }>({
    amount: existing?.price.amount ?? "",
    currency: existing?.price.currency ?? "RUB",
    billing: existing?.price.billing_period ?? "month",
  });

  useEffect(() => {
    if (!customer) return setSites([]);
    must(api.contracts.GET("/customers/{customer_id}/sites", { params: { path: { customer_id: customer.id }, query: { limit: 200 } } }))
      .then((found) => {
        setSites(found);
        if (!existing) setSiteIds(found.map((s) => s.id));
      })
      .catch(fail);
  }, [api, customer, existing, fail]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!customer) return fail(new Error(t("chooseCustomer")));
    let businessHours = null;
    try {
      businessHours = roundTheClock ? null : parseHours(hours);
    } catch (bad) {
      return fail(new Error(t("badHours", { part: (bad as Error).message })));
    }
    const quotas: ContractIn["quotas"] = [];
    if (emergencies.trim()) quotas.push({ request_kind: "emergency", period: emergencyPeriod, included: Number(emergencies) });
    if (routine.trim()) quotas.push({ request_kind: "routine", period: routinePeriod, included: Number(routine) });
    const body: ContractIn = {
      customer_id: customer.id,
      contract_type: type,
      starts_on: startsOn,
      ends_on: endsOn || null,
      site_ids: siteIds,
      equipment_ids: unitIds.filter((id) => siteIds.includes(unitSite[id] ?? "")),
      sla: PRIORITIES.filter((p) => sla[p]!.on).map((p) => ({
        priority: p,
        response_minutes: Number(sla[p]!.response),
        fix_minutes: Number(sla[p]!.fix),
      })),
      timezone: COMPANY_TIME_ZONE,
      business_hours: businessHours,
      holidays,
      quotas,
      price: price.amount
        ? { amount: price.amount, currency: price.currency || null, billing_period: price.billing as "month" | "quarter" | "year" }
        : {},
    };
    if (!existing) return void must(api.contracts.POST("/contracts", { body })).then(onCreated).catch(fail);
    const { customer_id: _c, contract_type: _t, starts_on: _s, ...changes } = body;
    must(api.contracts.PATCH("/contracts/{contract_id}", { params: { path: { contract_id: existing.id } }, body: changes }))
      .then(onCreated)
      .catch(fail);
  };

  return (
    <form className="detail contract-form" onSubmit={submit} aria-label={existing ? t("editTerms") : t("newContract")}>
      <h2>{existing ? t("editTerms") : t("newContract")}</h2>
      {existing ? (
        <p>
          {t("customer")}: <strong>{customer?.name}</strong>
        </p>
      ) : (
        <CustomerPicker value={customer} onChange={setCustomer} />
      )}
      {customer && (
        <fieldset>
          <legend>{t("coveredSites")}</legend>
          {sites.map((s) => (
            <div key={s.id}>
              <label className="check">
                <input
                  type="checkbox"
                  checked={siteIds.includes(s.id)}
                  onChange={(e) => setSiteIds(e.target.checked ? [...siteIds, s.id] : siteIds.filter((x) => x !== s.id))}
                />
                {s.name}
              </label>
              {siteIds.includes(s.id) && <CoveredUnits siteId={s.id} chosen={unitIds} onChange={setUnitIds} onUnits={onUnits} />}
            </div>
          ))}
          <p className="hint">{t("wholeSiteHint")}</p>
        </fieldset>
      )}
      <label>
        {t("contractType")}{" "}
        <select value={type} disabled={!!existing} onChange={(e) => setType(e.target.value as ContractIn["contract_type"])}>
          {(["full_maintenance", "on_call", "warranty"] as const).map((c) => (
            <option key={c} value={c}>
              {t(`type.${c}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("startsOn")} <input type="date" required disabled={!!existing} value={startsOn} onChange={(e) => setStartsOn(e.target.value)} />
      </label>
      <label>
        {t("endsOn")} <input type="date" value={endsOn} onChange={(e) => setEndsOn(e.target.value)} />
      </label>
      <fieldset>
        <legend>{t("slaTerms")}</legend>
        <table className="rows sla">
          <thead>
            <tr>
              <th>{t("priority")}</th>
              <th>{t("responseMinutes")}</th>
              <th>{t("fixMinutes")}</th>
            </tr>
          </thead>
          <tbody>
            {PRIORITIES.map((p) => (
              <tr key={p}>
                <td>
                  <label className="check">
                    <input type="checkbox" checked={sla[p]!.on} onChange={(e) => setSla({ ...sla, [p]: { ...sla[p]!, on: e.target.checked } })} />
                    {p}
                  </label>
                </td>
                <td>
                  <input aria-label={t("responseOf", { p })} inputMode="numeric" disabled={!sla[p]!.on} value={sla[p]!.response} onChange={(e) => setSla({ ...sla, [p]: { ...sla[p]!, response: e.target.value } })} />
                </td>
                <td>
                  <input aria-label={t("fixOf", { p })} inputMode="numeric" disabled={!sla[p]!.on} value={sla[p]!.fix} onChange={(e) => setSla({ ...sla, [p]: { ...sla[p]!, fix: e.target.value } })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <fieldset>
        <legend>{t("businessHours")}</legend>
        <label className="check">
          <input type="checkbox" checked={roundTheClock} onChange={(e) => setRoundTheClock(e.target.checked)} />
          {t("roundTheClock")}
        </label>
        {!roundTheClock && (
          <label>
            {t("weeklyHours")} <input value={hours} onChange={(e) => setHours(e.target.value)} />
          </label>
        )}
      </fieldset>
      <HolidaysEditor value={holidays} onChange={setHolidays} year={Number(startsOn.slice(0, 4)) || new Date().getFullYear()} />
      <fieldset>
        <legend>{t("quotas")}</legend>
        <label>
          {t("emergencyQuota")} <input inputMode="numeric" value={emergencies} onChange={(e) => setEmergencies(e.target.value)} />
        </label>
        <QuotaPeriodPicker label={t("emergencyQuotaPeriod")} value={emergencyPeriod} onChange={setEmergencyPeriod} />
        <label>
          {t("routineQuota")} <input inputMode="numeric" value={routine} onChange={(e) => setRoutine(e.target.value)} />
        </label>
        <QuotaPeriodPicker label={t("routineQuotaPeriod")} value={routinePeriod} onChange={setRoutinePeriod} />
      </fieldset>
      <fieldset>
        <legend>{t("price")}</legend>
        <label>
          {t("amount")} <input inputMode="decimal" value={price.amount} onChange={(e) => setPrice({ ...price, amount: e.target.value })} />
        </label>
        <label>
          {t("currency")} <input size={4} value={price.currency} onChange={(e) => setPrice({ ...price, currency: e.target.value.toUpperCase() })} />
        </label>
        <label>
          {t("billingPeriod")}{" "}
          <select value={price.billing} onChange={(e) => setPrice({ ...price, billing: e.target.value })}>
            {(["month", "quarter", "year"] as const).map((b) => (
              <option key={b} value={b}>
                {t(`billing.${b}`)}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <button type="submit">{existing ? t("saveTerms") : t("createContract")}</button>
    </form>
  );
}

function ContractDetail({ contractId, onChanged }: { contractId: string; onChanged: () => void }) {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [contract, setContract] = useState<Contract | null>(null);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [sites, setSites] = useState<Site[]>([]);
  const [preview, setPreview] = useState<TransitionPreview | null>(null);
  const [holidays, setHolidays] = useState<string[] | null>(null);
  const [editing, setEditing] = useState(false);
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => {
    must(api.contracts.GET("/contracts/{contract_id}", { params: { path: { contract_id: contractId } } }))
      .then(async (c) => {
        setContract(c);
        setHolidays(null);
        setCustomer(await must(api.contracts.GET("/customers/{customer_id}", { params: { path: { customer_id: c.customer_id } } })));
        const all = await must(
          api.contracts.GET("/customers/{customer_id}/sites", { params: { path: { customer_id: c.customer_id }, query: { limit: 200 } } }),
        );
        setSites(all.filter((s) => c.site_ids.includes(s.id)));
      })
      .catch(fail);
  }, [api, contractId, fail]);
  useEffect(reload, [reload]);
  if (!contract) return null;

  const ask = (action: TransitionPreview["action"]) =>
    must(api.contracts.GET("/contracts/{contract_id}/{action}/preview", { params: { path: { contract_id: contractId, action } } }))
      .then(setPreview)
      .catch(fail);
  const confirm = (action: TransitionPreview["action"]) =>
    must(api.contracts.POST(`/contracts/{contract_id}/${action}`, { params: { path: { contract_id: contractId } } }))
      .then(() => {
        setPreview(null);
        setVersion((v) => v + 1);
        reload();
        onChanged();
      })
      .catch(fail);
  const saveHolidays = () =>
    must(api.contracts.PATCH("/contracts/{contract_id}", { params: { path: { contract_id: contractId } }, body: { holidays: holidays ?? [] } }))
      .then(reload)
      .catch(fail);

  if (editing)
    return (
      <ContractForm
        existing={contract}
        customerOf={customer}
        onCreated={() => {
          setEditing(false);
          reload();
          setVersion((v) => v + 1);
          onChanged();
        }}
      />
    );
  const actions: TransitionPreview["action"][] =
    contract.status === "draft" ? ["activate", "terminate"] : contract.status === "active" ? ["suspend", "terminate"] : contract.status === "suspended" ? ["activate", "terminate"] : [];
  return (
    <section className="detail" aria-label={t("contract")}>
      <h2>
        {customer?.name} · {t(`type.${contract.contract_type}`)}{" "}
        <span className={`status ${contract.status}`} data-testid="contract-status">
          {t(`status.${contract.status}`)}
        </span>
      </h2>
      <p>
        {contract.starts_on} – {contract.ends_on ?? "…"} · {sites.map((s) => s.name).join(", ")}
      </p>
      <div className="lifecycle">
        {contract.status !== "terminated" && contract.status !== "expired" && (
          <button type="button" onClick={() => setEditing(true)}>
            {t("editTerms")}
          </button>
        )}
        {actions.map((a) => (
          <button key={a} type="button" onClick={() => void ask(a)}>
            {t(`action.${a}`)}…
          </button>
        ))}
      </div>
      {preview && (
        <div className="card consequences" role="dialog" aria-label={t("consequences")}>
          <h3>{t("consequencesOf", { action: t(`action.${preview.action}`) })}</h3>
          {preview.refused ? (
            <p className="refused">{t("refused", { reason: preview.refused })}</p>
          ) : (
            <ul>
              <li>{t("statusChange", { from: t(`status.${preview.status_before}`), to: t(`status.${preview.status_after ?? ""}`) })}</li>
              <li>{t("visitsPlannedN", { n: preview.visits_planned.length })}</li>
              <li>{t("visitsCancelledN", { n: preview.visits_cancelled.length })}</li>
              {preview.action !== "activate" && <li>{t("coverageStops", { sites: preview.sites, units: preview.units })}</li>}
            </ul>
          )}
          {[...preview.visits_planned, ...preview.visits_cancelled].length > 0 && (
            <p className="hint">
              {[...preview.visits_cancelled, ...preview.visits_planned]
                .slice(0, 6)
                .map((v) => formatDateTime(v.due_at, locale))
                .join(" · ")}
            </p>
          )}
          <button type="button" disabled={!!preview.refused} onClick={() => void confirm(preview.action)}>
            {t("confirmAction", { action: t(`action.${preview.action}`) })}
          </button>{" "}
          <button type="button" onClick={() => setPreview(null)}>
            {t("cancel")}
          </button>
        </div>
      )}
      <h3>{t("slaTerms")}</h3>
      <table className="rows sla">
        <thead>
          <tr>
            <th>{t("priority")}</th>
            <th>{t("responseMinutes")}</th>
            <th>{t("fixMinutes")}</th>
          </tr>
        </thead>
        <tbody>
          {contract.sla.map((s) => (
            <tr key={s.priority}>
              <td>{s.priority}</td>
              <td>{s.response_minutes}</td>
              <td>{s.fix_minutes}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {t("businessHours")}: {contract.business_hours ? formatHours(contract.business_hours) : t("roundTheClock")} · {contract.timezone}
      </p>
      <p>
        {t("quotas")}: {(contract.quotas ?? []).map((q) => `${t(`kind.${q.request_kind}`)} ${q.included}/${t(`period.${q.period}`)}`).join(", ") || "—"} · {t("price")}:{" "}
        {contract.price.amount ? `${contract.price.amount} ${contract.price.currency ?? ""} / ${t(`billing.${contract.price.billing_period ?? "month"}`)}` : "—"}
      </p>
      {holidays === null ? (
        <p>
          {t("holidays")}: {(contract.holidays ?? []).length}{" "}
          <button type="button" disabled={contract.status === "terminated" || contract.status === "expired"} onClick={() => setHolidays(contract.holidays ?? [])}>
            {t("edit")}
          </button>
        </p>
      ) : (
        <>
          <HolidaysEditor value={holidays} onChange={setHolidays} year={Number(contract.starts_on.slice(0, 4))} />
          <button type="button" onClick={() => void saveHolidays()}>
            {t("save")}
          </button>
        </>
      )}
      {contract.contract_type === "full_maintenance" && <SchedulesPanel key={version} contract={contract} sites={sites} />}
      <ContractVisits key={`v${version}`} contract={contract} />
      <HealthPanel key={`h${version}`} contract={contract} />
    </section>
  );
}

type QuotaPeriod = NonNullable<ContractIn["quotas"]>[number]["period"] & string;
const QUOTA_PERIODS: QuotaPeriod[] = ["month", "year", "contract"];

/** Per what a quota counts: a month or a year of the contract (from its start date), or the whole contract. */
function QuotaPeriodPicker({ label, value, onChange }: { label: string; value: QuotaPeriod; onChange: (p: QuotaPeriod) => void }) {
  const { t } = useI18n();
  return (
    <label>
      {label}{" "}
      <select value={value} onChange={(e) => onChange(e.target.value as QuotaPeriod)}>
        {QUOTA_PERIODS.map((p) => (
          <option key={p} value={p}>
            {t(`quotaPer.${p}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
