import { useEffect, useRef, useState } from "react";
import SignaturePad from "signature_pad";
import { useI18n } from "@fieldline/shared";
import { compressPhoto, PHOTO_MAX_BYTES } from "@fieldline/shared/compress";
import type { Command } from "./App";
import { CHECKLISTS, stopName, type Stop } from "./day";

const OUTCOMES = ["completed", "needs_parts", "no_access", "customer_absent"] as const;

interface Photo {
  id: string;
  blob: Blob;
  url: string;
  takenAt?: string;
}

/** The completion report: outcome, work, checklist, parts, time on site, photos and the customer's signature.
 * Photos and the signature are queued as uploads before the report, which names them. */
export function ReportForm({ stop, arrivedAt, run, at, onDone }: { stop: Stop; arrivedAt: string | null; run: (c: Command) => Promise<void>; at: () => string | undefined; onDone: () => void }) {
  const { t } = useI18n();
  const [outcome, setOutcome] = useState<(typeof OUTCOMES)[number]>("completed");
  const [workDone, setWorkDone] = useState("");
  const [notes, setNotes] = useState("");
  const items = CHECKLISTS[stop.kind] ?? CHECKLISTS.routine!;
  const [checked, setChecked] = useState<Record<string, boolean>>({});
  const [parts, setParts] = useState<{ part: string; quantity: number }[]>([]);
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [signedBy, setSignedBy] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const pad = useRef<SignaturePad | null>(null);

  useEffect(() => {
    const element = canvas.current!;
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    element.width = element.offsetWidth * ratio;
    element.height = element.offsetHeight * ratio;
    element.getContext("2d")!.scale(ratio, ratio);
    pad.current = new SignaturePad(element, { penColor: "#000", backgroundColor: "rgb(255,255,255)" });
    return () => pad.current?.off();
  }, []);

  const arrived = arrivedAt; // the server's arrival, or the on-site step still waiting to sync
  const minutesOnSite = arrived && at() ? Math.max(0, Math.round((new Date(at()!).getTime() - new Date(arrived).getTime()) / 60000)) : null;

  const addPhotos = async (files: FileList | null) => {
    setProblem(null);
    for (const file of Array.from(files ?? [])) {
      const blob = await compressPhoto(file);
      if (blob.size > PHOTO_MAX_BYTES) {
        setProblem(t("photoTooBig"));
        continue;
      }
      setPhotos((all) => [...all, { id: crypto.randomUUID(), blob, url: URL.createObjectURL(blob), takenAt: at() }]);
    }
  };

  const submit = async () => {
    const signed = pad.current && !pad.current.isEmpty();
    if (outcome === "completed" && (!signed || !signedBy.trim())) {
      setProblem(t("needSignature"));
      return;
    }
    const base = `/me/assignments/${stop.assignment.id}`;
    const what = stopName(stop);
    const attachmentIds: string[] = [];
    for (const photo of photos) {
      attachmentIds.push(photo.id);
      const query = new URLSearchParams({ kind: "photo", ...(photo.takenAt ? { taken_at: photo.takenAt } : {}) });
      await run({ id: photo.id, kind: "upload", method: "PUT", path: `${base}/attachments/${photo.id}?${query}`, assignmentId: stop.assignment.id, what: `${what} · ${t("photos")}`, blob: photo.blob, contentType: "image/jpeg" });
    }
    if (signed) {
      const id = crypto.randomUUID();
      const blob = await (await fetch(pad.current!.toDataURL("image/png"))).blob();
      attachmentIds.push(id);
      await run({ id, kind: "upload", method: "PUT", path: `${base}/attachments/${id}?kind=signature`, assignmentId: stop.assignment.id, what: `${what} · ${t("signature")}`, blob, contentType: "image/png" });
    }
    await run({
      kind: "report",
      method: "POST",
      path: `${base}/report`,
      assignmentId: stop.assignment.id,
      effect: outcome === "completed" ? "completed" : "failed",
      what,
      body: {
        client_command_id: crypto.randomUUID(),
        at: at(),
        outcome,
        work_done: workDone,
        notes,
        checklist: items.map((item) => ({ item: t(item), done: Boolean(checked[item]) })),
        parts_used: parts.filter((p) => p.part.trim()),
        signed_by: signedBy.trim() || null,
        attachment_ids: attachmentIds,
      },
    });
    onDone();
  };

  return (
    <form className="report" aria-label={t("reportTitle")} onSubmit={(e) => (e.preventDefault(), void submit())}>
      <h4>{t("reportTitle")}</h4>
      {minutesOnSite !== null && <p className="on-site-time">{t("timeOnSite", { min: minutesOnSite })}</p>}
      <fieldset>
        <legend>{t("outcome")}</legend>
        {OUTCOMES.map((o) => (
          <label key={o} className="choice">
            <input type="radio" name={`outcome-${stop.assignment.id}`} checked={outcome === o} onChange={() => setOutcome(o)} /> {t(`outcome_${o}`)}
          </label>
        ))}
      </fieldset>
      <label>
        {t("workDone")}
        <textarea value={workDone} onChange={(e) => setWorkDone(e.target.value)} rows={3} />
      </label>
      <fieldset>
        <legend>{t("checklist")}</legend>
        {items.map((item) => (
          <label key={item} className="choice">
            <input type="checkbox" checked={Boolean(checked[item])} onChange={(e) => setChecked({ ...checked, [item]: e.target.checked })} /> {t(item)}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>{t("parts")}</legend>
        {parts.map((p, i) => (
          <div className="part" key={i}>
            <input aria-label={t("partNumber")} placeholder={t("partNumber")} value={p.part} onChange={(e) => setParts(parts.map((q, j) => (j === i ? { ...q, part: e.target.value } : q)))} />
            <input aria-label={t("quantity")} type="number" min={0.01} step="any" inputMode="decimal" value={p.quantity} onChange={(e) => setParts(parts.map((q, j) => (j === i ? { ...q, quantity: Number(e.target.value) } : q)))} />
            <button type="button" onClick={() => setParts(parts.filter((_, j) => j !== i))}>
              {t("remove")}
            </button>
          </div>
        ))}
        <button type="button" className="big" onClick={() => setParts([...parts, { part: "", quantity: 1 }])}>
          {t("addPart")}
        </button>
      </fieldset>
      <label>
        {t("notes")}
        <textarea value={notes} onChange={(e) => setNotes(e.target.value)} rows={2} />
      </label>
      <fieldset>
        <legend>{t("photos")}</legend>
        <label className="big file">
          {t("addPhoto")}
          <input type="file" accept="image/*" capture="environment" multiple onChange={(e) => void addPhotos(e.target.files)} data-testid="photo-input" />
        </label>
        <div className="thumbs">
          {photos.map((p) => (
            <img key={p.id} src={p.url} alt={t("photos")} data-testid="photo-thumb" />
          ))}
        </div>
      </fieldset>
      <label>
        {t("signedBy")}
        <input value={signedBy} onChange={(e) => setSignedBy(e.target.value)} autoComplete="off" />
      </label>
      <fieldset>
        <legend>{t("signature")}</legend>
        <canvas ref={canvas} className="signature" data-testid="signature" aria-label={t("signature")} />
        <button type="button" onClick={() => pad.current?.clear()}>
          {t("clearSignature")}
        </button>
      </fieldset>
      {problem && <p role="alert">{problem}</p>}
      <button type="submit" className="big primary">
        {t("submitReport")}
      </button>
    </form>
  );
}
