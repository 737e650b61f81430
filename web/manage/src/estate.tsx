import { useCallback, useEffect, useState, type FormEvent, type MouseEvent } from "react";
import { CrimeaMap, MAP_WIDTH, project, unproject, useI18n } from "@fieldline/shared";
import { formatHours, must, PAGE_SIZE, parseHours, useWorkspace, type Contract, type Customer, type Site, type Unit } from "./api";
import { Pager, SearchBox, usePagedSearch } from "./paging";

// --- customers ---------------------------------------------------------------------------------------

export function CustomersView({ onOpenContract }: { onOpenContract: (id: string) => void }) {
  const { t } = useI18n();
  const { api } = useWorkspace();
  const [selected, setSelected] = useState<Customer | null>(null);
  const fetchPage = useCallback(
    (q: string, offset: number) =>
      must(api.contracts.GET("/customers", { params: { query: { q: q || undefined, limit: PAGE_SIZE, offset } } })),
    [api],
  );
  const list = usePagedSearch(fetchPage);
  return (
    <div className="two-panes">
      <section aria-label={t("section.customers")}>
        <h2>{t("section.customers")}</h2>
        <SearchBox value={list.q} onChange={list.search} label={t("searchCustomers")} />
        <table className="rows">
          <thead>
            <tr>
              <th>{t("name")}</th>
              <th>{t("externalRef")}</th>
            </tr>
          </thead>
          <tbody>
            {(list.items ?? []).map((c) => (
              <tr key={c.id} aria-selected={selected?.id === c.id} onClick={() => setSelected(c)}>
                <td>
                  <button type="button" className="link">
                    {c.name}
                  </button>
                </td>
                <td>{c.external_ref}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager offset={list.offset} count={list.items?.length ?? 0} onOffset={list.setOffset} />
        <NewCustomer
          onCreated={(c) => {
            setSelected(c);
            list.search(c.name);
          }}
        />
      </section>
      {selected && <CustomerDetail key={selected.id} customer={selected} onOpenContract={onOpenContract} />}
    </div>
  );
}

function NewCustomer({ onCreated }: { onCreated: (c: Customer) => void }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [name, setName] = useState("");
  const [ref, setRef] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    must(api.contracts.POST("/customers", { body: { name, external_ref: ref || null } }))
      .then((c) => {
        setName("");
        setRef("");
        onCreated(c);
      })
      .catch(fail);
  };
  return (
    <form className="card" onSubmit={submit} aria-label={t("newCustomer")}>
      <h3>{t("newCustomer")}</h3>
      <label>
        {t("name")} <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        {t("externalRef")} <input value={ref} onChange={(e) => setRef(e.target.value)} />
      </label>
      <button type="submit">{t("createCustomer")}</button>
    </form>
  );
}

function CustomerDetail({ customer, onOpenContract }: { customer: Customer; onOpenContract: (id: string) => void }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [sites, setSites] = useState<Site[]>([]);
  const [contracts, setContracts] = useState<Contract[]>([]);
  const [site, setSite] = useState<Site | null>(null);
  const [offset, setOffset] = useState(0);
  const reload = useCallback(() => {
    const query = { limit: PAGE_SIZE, offset };
    must(api.contracts.GET("/customers/{customer_id}/sites", { params: { path: { customer_id: customer.id }, query } }))
      .then(setSites)
      .catch(fail);
    must(api.contracts.GET("/contracts", { params: { query: { customer_id: customer.id, limit: 200 } } }))
      .then(setContracts)
      .catch(fail);
  }, [api, customer, offset, fail]);
  useEffect(reload, [reload]);
  return (
    <section aria-label={customer.name} className="detail">
      <h2>{customer.name}</h2>
      <h3>{t("sites")}</h3>
      <SitesMap sites={sites} selected={site?.id ?? null} onSelect={(id) => setSite(sites.find((s) => s.id === id) ?? null)} />
      <ul className="plain">
        {sites.map((s) => (
          <li key={s.id}>
            <button type="button" className="link" aria-pressed={site?.id === s.id} onClick={() => setSite(s)}>
              {s.name}
            </button>{" "}
            <small>
              {s.address}
              {s.territory ? ` · ${s.territory.name}` : ""}
              {s.access_hours ? ` · ${formatHours(s.access_hours)}` : ""}
              {s.contact_name ? ` · ${s.contact_name} ${s.contact_phone ?? ""}` : ""}
            </small>
          </li>
        ))}
      </ul>
      {(offset > 0 || sites.length === PAGE_SIZE) && <Pager offset={offset} count={sites.length} onOffset={setOffset} />}
      {site && (
        <EditSite
          key={`edit-${site.id}`}
          site={site}
          onSaved={(s) => {
            reload();
            setSite(s);
          }}
        />
      )}
      {site && <SiteUnits key={site.id} site={site} />}
      <NewSite
        customerId={customer.id}
        onCreated={(s) => {
          reload();
          setSite(s);
        }}
      />
      <h3>{t("section.contracts")}</h3>
      <ul className="plain">
        {contracts.map((c) => (
          <li key={c.id}>
            <button type="button" className="link" onClick={() => onOpenContract(c.id)}>
              {t(`type.${c.contract_type}`)} · {c.starts_on} – {c.ends_on ?? "…"}
            </button>{" "}
            <span className={`status ${c.status}`}>{t(`status.${c.status}`)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SitesMap({ sites, selected, onSelect }: { sites: Site[]; selected: string | null; onSelect: (id: string) => void }) {
  const { t, locale } = useI18n();
  return (
    <div className="map small">
      <CrimeaMap locale={locale} label={t("sitesMap")}>
        {sites.map((s) => {
          const { x, y } = project(s.location.lon, s.location.lat);
          return (
            <circle key={s.id} cx={x} cy={y} r={selected === s.id ? 10 : 7} fill={selected === s.id ? "#c62828" : "#1565c0"} onClick={() => onSelect(s.id)}>
              <title>{s.name}</title>
            </circle>
          );
        })}
      </CrimeaMap>
    </div>
  );
}

/** Where a click on a CrimeaMap falls, in map coordinates. */
export function mapPoint(e: MouseEvent): { x: number; y: number } | null {
  const svg = (e.target as Element).closest("svg");
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  const scale = MAP_WIDTH / box.width;
  return { x: (e.clientX - box.left) * scale, y: (e.clientY - box.top) * scale };
}

/** A site's name, address, access hours and contact (a site does not move: its place is fixed). */
function EditSite({ site, onSaved }: { site: Site; onSaved: (s: Site) => void }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const initial = {
    name: site.name,
    address: site.address,
    hours: formatHours(site.access_hours),
    contact: site.contact_name ?? "",
    phone: site.contact_phone ?? "",
  };
  const [form, setForm] = useState(initial);
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let hours;
    try {
      hours = parseHours(form.hours);
    } catch (bad) {
      return fail(new Error(t("badHours", { part: (bad as Error).message })));
    }
    must(
      api.contracts.PATCH("/sites/{site_id}", {
        params: { path: { site_id: site.id } },
        body: { name: form.name, address: form.address, access_hours: hours, contact_name: form.contact || null, contact_phone: form.phone || null },
      }),
    )
      .then(onSaved)
      .catch(fail);
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-label={t("editSite", { site: site.name })}>
      <h4>{t("editSite", { site: site.name })}</h4>
      <label>
        {t("name")} <input required value={form.name} onChange={set("name")} />
      </label>
      <label>
        {t("address")} <input required value={form.address} onChange={set("address")} />
      </label>
      <label>
        {t("accessHours")} <input value={form.hours} onChange={set("hours")} />
      </label>
      <label>
        {t("contactName")} <input value={form.contact} onChange={set("contact")} />
      </label>
      <label>
        {t("contactPhone")} <input value={form.phone} onChange={set("phone")} />
      </label>
      <button type="submit">{t("save")}</button>
    </form>
  );
}

function NewSite({ customerId, onCreated }: { customerId: string; onCreated: (s: Site) => void }) {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [form, setForm] = useState({ name: "", address: "", lat: "", lon: "", hours: "", contact: "", phone: "", ref: "" });
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  const place = (e: MouseEvent) => {
    const point = mapPoint(e);
    if (!point) return;
    const { lat, lon } = unproject(point.x, point.y);
    setForm({ ...form, lat: lat.toFixed(5), lon: lon.toFixed(5) });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let hours;
    try {
      hours = parseHours(form.hours);
    } catch (bad) {
      fail(new Error(t("badHours", { part: (bad as Error).message })));
      return;
    }
    must(
      api.contracts.POST("/customers/{customer_id}/sites", {
        params: { path: { customer_id: customerId } },
        body: {
          name: form.name,
          address: form.address,
          location: { lat: Number(form.lat), lon: Number(form.lon) },
          access_hours: hours,
          contact_name: form.contact || null,
          contact_phone: form.phone || null,
          external_ref: form.ref || null,
        },
      }),
    )
      .then((s) => {
        setForm({ name: "", address: "", lat: "", lon: "", hours: "", contact: "", phone: "", ref: "" });
        onCreated(s);
      })
      .catch(fail);
  };
  const marker = form.lat && form.lon ? project(Number(form.lon), Number(form.lat)) : null;
  return (
    <form className="card" onSubmit={submit} aria-label={t("newSite")}>
      <h3>{t("newSite")}</h3>
      <label>
        {t("name")} <input required value={form.name} onChange={set("name")} />
      </label>
      <label>
        {t("address")} <input required value={form.address} onChange={set("address")} />
      </label>
      <p className="hint">{t("placeOnMap")}</p>
      <div className="map small" onClick={place} data-testid="site-map">
        <CrimeaMap locale={locale} label={t("placeOnMap")}>
          {marker && <circle cx={marker.x} cy={marker.y} r={9} fill="#c62828" />}
        </CrimeaMap>
      </div>
      <label>
        {t("lat")} <input required inputMode="decimal" value={form.lat} onChange={set("lat")} />
      </label>
      <label>
        {t("lon")} <input required inputMode="decimal" value={form.lon} onChange={set("lon")} />
      </label>
      <label>
        {t("accessHours")} <input placeholder="mon-fri 08:00-20:00; sat 10:00-14:00" value={form.hours} onChange={set("hours")} />
      </label>
      <label>
        {t("contactName")} <input value={form.contact} onChange={set("contact")} />
      </label>
      <label>
        {t("contactPhone")} <input value={form.phone} onChange={set("phone")} />
      </label>
      <label>
        {t("externalRef")} <input value={form.ref} onChange={set("ref")} />
      </label>
      <button type="submit">{t("createSite")}</button>
    </form>
  );
}

const CRITICALITY = ["critical", "high", "normal", "low"] as const;

function SiteUnits({ site }: { site: Site }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const [units, setUnits] = useState<Unit[]>([]);
  const reload = useCallback(() => {
    must(api.contracts.GET("/sites/{site_id}/equipment", { params: { path: { site_id: site.id }, query: { limit: 200 } } }))
      .then(setUnits)
      .catch(fail);
  }, [api, site, fail]);
  useEffect(reload, [reload]);
  return (
    <div className="card" aria-label={t("unitsAt", { site: site.name })}>
      <h3>{t("unitsAt", { site: site.name })}</h3>
      <UnitTable units={units} />
      <NewUnit siteId={site.id} onCreated={reload} />
    </div>
  );
}

function UnitTable({ units, chosen, onChoose }: { units: Unit[]; chosen?: Set<string>; onChoose?: (id: string, on: boolean) => void }) {
  const { t } = useI18n();
  return (
    <table className="rows">
      <thead>
        <tr>
          {onChoose && <th />}
          <th>{t("equipmentType")}</th>
          <th>{t("model")}</th>
          <th>{t("serial")}</th>
          <th>{t("criticality")}</th>
          <th>{t("warrantyEnds")}</th>
          <th>{t("skills")}</th>
        </tr>
      </thead>
      <tbody>
        {units.map((u) => (
          <tr key={u.id}>
            {onChoose && (
              <td>
                <input type="checkbox" aria-label={t("choose", { what: u.serial })} checked={chosen?.has(u.id) ?? false} onChange={(e) => onChoose(u.id, e.target.checked)} />
              </td>
            )}
            <td>{u.equipment_type}</td>
            <td>{u.model}</td>
            <td>{u.serial}</td>
            <td>{t(`criticality.${u.criticality ?? "normal"}`)}</td>
            <td>{u.warranty_ends_on}</td>
            <td>{(u.required_skills ?? []).map((s) => `${s.skill}:${s.min_level}`).join(", ")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** "refrigeration:2; electrical" as the API's skill needs (level 1 when none is given). */
export function parseSkills(text: string): { skill: string; min_level: number }[] {
  return text
    .split(/[;,]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [skill, level] = s.split(":");
      return { skill: skill!.trim(), min_level: level ? Number(level) : 1 };
    });
}

function NewUnit({ siteId, onCreated }: { siteId: string; onCreated: () => void }) {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const empty = { type: "", model: "", serial: "", installed: "", warranty: "", criticality: "normal", skills: "" };
  const [form, setForm] = useState(empty);
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [field]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    must(
      api.contracts.POST("/sites/{site_id}/equipment", {
        params: { path: { site_id: siteId } },
        body: {
          equipment_type: form.type,
          model: form.model,
          serial: form.serial,
          installed_on: form.installed || null,
          warranty_ends_on: form.warranty || null,
          criticality: form.criticality as (typeof CRITICALITY)[number],
          required_skills: parseSkills(form.skills),
        },
      }),
    )
      .then(() => {
        setForm(empty);
        onCreated();
      })
      .catch(fail);
  };
  return (
    <form onSubmit={submit} aria-label={t("newUnit")} className="inline-form">
      <h4>{t("newUnit")}</h4>
      <label>
        {t("equipmentType")} <input required placeholder="cold_room" value={form.type} onChange={set("type")} />
      </label>
      <label>
        {t("model")} <input required value={form.model} onChange={set("model")} />
      </label>
      <label>
        {t("serial")} <input required value={form.serial} onChange={set("serial")} />
      </label>
      <label>
        {t("installedOn")} <input type="date" value={form.installed} onChange={set("installed")} />
      </label>
      <label>
        {t("warrantyEnds")} <input type="date" value={form.warranty} onChange={set("warranty")} />
      </label>
      <label>
        {t("criticality")}{" "}
        <select value={form.criticality} onChange={set("criticality")}>
          {CRITICALITY.map((c) => (
            <option key={c} value={c}>
              {t(`criticality.${c}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("skills")} <input placeholder="refrigeration:2; electrical" value={form.skills} onChange={set("skills")} />
      </label>
      <button type="submit">{t("addUnit")}</button>
    </form>
  );
}

// --- every site, every unit --------------------------------------------------------------------------

export function SitesView() {
  const { t } = useI18n();
  const { api } = useWorkspace();
  const fetchPage = useCallback(
    (q: string, offset: number) => must(api.contracts.GET("/sites", { params: { query: { q: q || undefined, limit: PAGE_SIZE, offset } } })),
    [api],
  );
  const list = usePagedSearch(fetchPage);
  const [site, setSite] = useState<Site | null>(null);
  return (
    <div className="two-panes">
      <section aria-label={t("section.sites")}>
        <h2>{t("section.sites")}</h2>
        <SearchBox value={list.q} onChange={list.search} label={t("searchSites")} />
        <table className="rows">
          <thead>
            <tr>
              <th>{t("name")}</th>
              <th>{t("address")}</th>
              <th>{t("territory")}</th>
            </tr>
          </thead>
          <tbody>
            {(list.items ?? []).map((s) => (
              <tr key={s.id} aria-selected={site?.id === s.id} onClick={() => setSite(s)}>
                <td>{s.name}</td>
                <td>{s.address}</td>
                <td>{s.territory?.name}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager offset={list.offset} count={list.items?.length ?? 0} onOffset={list.setOffset} />
      </section>
      <section className="detail">
        <SitesMap sites={list.items ?? []} selected={site?.id ?? null} onSelect={(id) => setSite(list.items?.find((s) => s.id === id) ?? null)} />
        {site && <SiteUnits key={site.id} site={site} />}
      </section>
    </div>
  );
}

export function EquipmentView() {
  const { t } = useI18n();
  const { api, fail } = useWorkspace();
  const fetchPage = useCallback(
    (q: string, offset: number) => must(api.contracts.GET("/equipment", { params: { query: { q: q || undefined, limit: PAGE_SIZE, offset } } })),
    [api],
  );
  const list = usePagedSearch(fetchPage);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [criticality, setCriticality] = useState("");
  const [skills, setSkills] = useState("");
  const choose = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    setChosen(next);
  };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const changes: { criticality?: (typeof CRITICALITY)[number]; required_skills?: { skill: string; min_level: number }[] } = {};
    if (criticality) changes.criticality = criticality as (typeof CRITICALITY)[number];
    if (skills.trim()) changes.required_skills = parseSkills(skills);
    must(api.contracts.PATCH("/equipment", { body: { equipment_ids: [...chosen], changes } }))
      .then(() => {
        setChosen(new Set());
        list.reload();
      })
      .catch(fail);
  };
  return (
    <section aria-label={t("section.equipment")}>
      <h2>{t("section.equipment")}</h2>
      <SearchBox value={list.q} onChange={list.search} label={t("searchEquipment")} />
      <UnitTable units={list.items ?? []} chosen={chosen} onChoose={choose} />
      <Pager offset={list.offset} count={list.items?.length ?? 0} onOffset={list.setOffset} />
      <form className="card inline-form" onSubmit={apply} aria-label={t("bulkEdit")}>
        <h3>{t("bulkEdit")}</h3>
        <span>{t("chosen", { n: chosen.size })}</span>
        <label>
          {t("criticality")}{" "}
          <select value={criticality} onChange={(e) => setCriticality(e.target.value)}>
            <option value="">—</option>
            {CRITICALITY.map((c) => (
              <option key={c} value={c}>
                {t(`criticality.${c}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("skills")} <input placeholder="refrigeration:2" value={skills} onChange={(e) => setSkills(e.target.value)} />
        </label>
        <button type="submit" disabled={chosen.size === 0 || (!criticality && !skills.trim())}>
          {t("applyToChosen")}
        </button>
      </form>
    </section>
  );
}
