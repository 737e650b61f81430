import { useState } from "react";
import { useI18n } from "@fieldline/shared";
import { ProblemError, useWorkspace, type ImportReport } from "./api";

const KINDS = ["customers", "sites", "equipment"] as const;
type Kind = (typeof KINDS)[number];

const COLUMNS: Record<Kind, string> = {
  customers: "external_ref, name",
  sites: "external_ref, customer_ref, name, address, lat, lon[, access_hours, contact_name, contact_phone]",
  equipment: "site_ref, equipment_type, model, serial[, installed_on, warranty_ends_on, skills, criticality]",
};

export function ImportView() {
  const { t } = useI18n();
  const { token, fail } = useWorkspace();
  const [kind, setKind] = useState<Kind>("customers");
  const [file, setFile] = useState<File | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [busy, setBusy] = useState(false);

  // multipart uploads and CSV downloads go through fetch: the typed client speaks JSON
  const upload = async (dryRun: boolean) => {
    if (!file) return;
    setBusy(true);
    try {
      const body = new FormData();
      body.append("file", file);
      const response = await fetch(`${location.origin}/api/contracts/imports/${kind}?dry_run=${dryRun}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body,
      });
      const answer = await response.json();
      if (response.status !== 200 && response.status !== 422) throw new ProblemError(answer, response.status);
      if (!("rows" in answer)) throw new ProblemError(answer, response.status);
      setReport(answer as ImportReport);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };

  const download = async (what: Kind) => {
    try {
      const response = await fetch(`${location.origin}/api/contracts/exports/${what}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) throw new ProblemError(await response.json(), response.status);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = `${what}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (e) {
      fail(e);
    }
  };

  const checked = report?.dry_run && report.errors.length === 0;
  return (
    <div className="two-panes">
      <section aria-label={t("import")}>
        <h2>{t("import")}</h2>
        <p className="hint">{t("importHelp")}</p>
        <label>
          {t("importKind")}{" "}
          <select value={kind} onChange={(e) => (setKind(e.target.value as Kind), setReport(null))}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`section.${k}`)}
              </option>
            ))}
          </select>
        </label>
        <p className="hint">
          {t("columns")}: <code>{COLUMNS[kind]}</code>
        </p>
        <label>
          {t("csvFile")} <input type="file" accept=".csv,text/csv" onChange={(e) => (setFile(e.target.files?.[0] ?? null), setReport(null))} />
        </label>
        <div className="actions">
          <button type="button" disabled={!file || busy} onClick={() => void upload(true)}>
            {t("dryRun")}
          </button>
          <button type="button" disabled={!file || busy || !checked} onClick={() => void upload(false)}>
            {t("importNow")}
          </button>
        </div>
        {report && (
          <div className="card report" role="status" aria-label={t("importReport")}>
            {report.errors.length > 0 ? (
              <>
                <p className="refused" data-testid="import-verdict">
                  {t("importRejected", { n: report.errors.length, rows: report.rows })}
                </p>
                <table className="rows errors">
                  <thead>
                    <tr>
                      <th>{t("line")}</th>
                      <th>{t("field")}</th>
                      <th>{t("reason")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.errors.map((p, i) => (
                      <tr key={i}>
                        <td>{p.line}</td>
                        <td>{p.field}</td>
                        <td>{p.reason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            ) : report.dry_run ? (
              <p data-testid="import-verdict">{t("dryRunOk", { rows: report.rows })}</p>
            ) : (
              <p data-testid="import-verdict">{t("imported", { n: report.imported })}</p>
            )}
          </div>
        )}
      </section>
      <section aria-label={t("export")}>
        <h2>{t("export")}</h2>
        <p className="hint">{t("exportHelp")}</p>
        {KINDS.map((k) => (
          <button key={k} type="button" onClick={() => void download(k)}>
            {t("exportKind", { kind: t(`section.${k}`) })}
          </button>
        ))}
      </section>
    </div>
  );
}
