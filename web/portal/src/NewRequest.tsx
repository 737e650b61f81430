import { useEffect, useMemo, useState, type FormEvent } from "react";
import { companyDay, putPicture, useI18n, type Problem, type RequestsComponents } from "@fieldline/shared";
import { compressPhoto, PHOTO_MAX_BYTES } from "@fieldline/shared/compress";
import { usePortal } from "./App";
import { unitLabel } from "./names";
import { DAY_PARTS, kindOf, URGENCIES, windowOf, type DayPart, type Urgency } from "./urgency";

type RequestIn = RequestsComponents["schemas"]["ServiceRequestIn"];

// The Idempotency-Key of the request being sent, kept with the exact body it was first sent with: a retry of
// the same form (a lost answer, a reload) reuses it and the server answers with the request it already filed;
// an edited form is a new request and gets a new key.
const PENDING_KEY = "fieldline.portal.pending";
const CONTACT_KEY = "fieldline.portal.contact";

function keyFor(body: string): string {
  const saved = sessionStorage.getItem(PENDING_KEY);
  if (saved) {
    const pending = JSON.parse(saved) as { key: string; body: string };
    if (pending.body === body) return pending.key;
  }
  const key = crypto.randomUUID();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ key, body }));
  return key;
}

/** A photo of what is wrong, compressed on the phone; its id is made here, so sending it again files it once. */
interface Photo {
  id: string;
  blob: Blob;
  url: string;
}

const MAX_PHOTOS = 10; // the requests service's photos_per_request

interface Window {
  day: string;
  part: DayPart;
}

export function NewRequest({ siteId, unitId }: { siteId: string | null; unitId: string | null }) {
  const { t } = useI18n();
  const { api, session, cover, reloadCover, navigate, onUnauthorised } = usePortal();
  const sites = cover?.sites ?? [];
  const savedContact = JSON.parse(localStorage.getItem(CONTACT_KEY) ?? "{}") as { name?: string; phone?: string };
  const [site, setSite] = useState(siteId ?? "");
  const [unit, setUnit] = useState(unitId ?? "");
  const [description, setDescription] = useState("");
  const [urgency, setUrgency] = useState<Urgency>("critical");
  const tomorrow = companyDay(new Date(Date.now() + 86_400_000));
  const [windows, setWindows] = useState<Window[]>([{ day: tomorrow, part: "morning" }]);
  const [contactName, setContactName] = useState(savedContact.name ?? "");
  const [contactPhone, setContactPhone] = useState(savedContact.phone ?? "");
  const [sending, setSending] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [photos, setPhotos] = useState<Photo[]>([]);
  // filed, with photos still to send: the request stays filed, and only the photos are sent again
  const [filed, setFiled] = useState<string | null>(null);

  const addPhotos = async (files: FileList | null) => {
    setFailure(null);
    for (const file of Array.from(files ?? []).slice(0, MAX_PHOTOS - photos.length)) {
      const blob = await compressPhoto(file);
      if (blob.size > PHOTO_MAX_BYTES) {
        setFailure(t("photoTooBig"));
        continue;
      }
      setPhotos((all) => [...all, { id: crypto.randomUUID(), blob, url: URL.createObjectURL(blob) }]);
    }
  };

  /** Sends the photos to the filed request, each once (PUT under its own id); false when one could not go. */
  const sendPhotos = async (requestId: string): Promise<boolean> => {
    for (const photo of photos) {
      const response = await putPicture(`/api/requests/requests/${requestId}/photos/${photo.id}`, session.accessToken, photo.blob);
      if (response.status === 401) {
        onUnauthorised();
        return false;
      }
      if (!response.ok) {
        const problem = (await response.json().catch(() => null)) as Problem | null;
        setFailure(t("photosNotSent", { why: problem?.detail ?? String(response.status) }));
        return false;
      }
    }
    return true;
  };

  const finish = (requestId: string) => {
    photos.forEach((p) => URL.revokeObjectURL(p.url));
    navigate(`requests/${requestId}`);
  };

  const retryPhotos = async () => {
    if (!filed || sending) return;
    setSending(true);
    setFailure(null);
    try {
      if (await sendPhotos(filed)) finish(filed);
    } finally {
      setSending(false);
    }
  };

  useEffect(() => {
    if (!site && sites.length === 1) setSite(sites[0]!.id);
  }, [site, sites]);

  const chosen = sites.find((s) => s.id === site);
  const chosenUnit = chosen?.equipment.find((u) => u.id === unit);
  const contractId = chosenUnit ? chosenUnit.contract_id : chosen?.contract_id;
  const contract = cover?.contracts.find((c) => c.id === contractId);

  const body: RequestIn | null = useMemo(() => {
    if (!site || !description.trim()) return null;
    return {
      site_id: site,
      equipment_id: unit || null,
      ...kindOf(urgency),
      description: description.trim(),
      contact: { name: contactName.trim(), phone: contactPhone.trim(), email: "" },
      preferred_windows: urgency === "routine" ? windows.map((w) => windowOf(w.day, w.part)) : [],
    };
  }, [site, unit, urgency, description, contactName, contactPhone, windows]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!body || sending) return;
    setSending(true);
    setFailure(null);
    const json = JSON.stringify(body);
    const key = keyFor(json);
    try {
      const { data, error, response } = await api.requests.POST("/customer/requests", {
        body,
        params: { header: { "Idempotency-Key": key } },
      });
      if (response.status === 401) return onUnauthorised();
      if (error || !data) {
        const problem = error as Problem | undefined;
        setFailure(t("sendFailed", { why: problem?.detail ?? String(response.status) }));
        return;
      }
      sessionStorage.removeItem(PENDING_KEY);
      localStorage.setItem(CONTACT_KEY, JSON.stringify({ name: contactName.trim(), phone: contactPhone.trim() }));
      reloadCover(); // the quota just used
      setFiled(data.id);
      if (await sendPhotos(data.id)) finish(data.id);
    } catch (err) {
      setFailure(t("sendFailed", { why: err instanceof Error ? err.message : String(err) }));
    } finally {
      setSending(false);
    }
  };

  if (cover && sites.length === 0) return <p>{t("noSites")}</p>;
  return (
    <form className="file" onSubmit={(e) => void submit(e)} aria-labelledby="new-h">
      <h2 id="new-h">{t("newTitle")}</h2>
      <label htmlFor="f-site">{t("site")}</label>
      <select id="f-site" value={site} onChange={(e) => (setSite(e.target.value), setUnit(""))} required>
          <option value="">{t("pickSite")}</option>
          {sites.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name} — {s.address}
            </option>
          ))}
      </select>
      {chosen && (
        <>
          <label htmlFor="f-unit">{t("unit")}</label>
          <select id="f-unit" value={unit} onChange={(e) => setUnit(e.target.value)}>
            <option value="">{t("wholeSite")}</option>
            {chosen.equipment.map((u) => (
              <option key={u.id} value={u.id}>
                {unitLabel(u)}
              </option>
            ))}
          </select>
        </>
      )}
      {chosen && (
        <p className={contract ? "cover ok" : "cover no"} data-testid="cover">
          {contract ? t("coveredBy", { type: t(`type.${contract.contract_type}`) }) : t("notCovered")}
        </p>
      )}
      <label htmlFor="f-what">{t("whatIsWrong")}</label>
      <textarea
          id="f-what"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          placeholder={t("whatIsWrongHint")}
          rows={3}
          maxLength={4000}
          required
        />
      <label htmlFor="f-photos">{t("photos")}</label>
      <input
        id="f-photos"
        data-testid="photo-input"
        type="file"
        accept="image/jpeg,image/png,image/webp"
        capture="environment"
        multiple
        disabled={photos.length >= MAX_PHOTOS || filed !== null}
        onChange={(e) => void addPhotos(e.target.files).then(() => (e.target.value = ""))}
      />
      {photos.length > 0 && (
        <ul className="photos" data-testid="photos">
          {photos.map((p) => (
            <li key={p.id}>
              <img src={p.url} alt={t("photo")} />
              {filed === null && (
                <button type="button" className="link" onClick={() => setPhotos(photos.filter((x) => x.id !== p.id))}>
                  {t("remove")}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <fieldset className="urgency">
        <legend>{t("howUrgent")}</legend>
        {URGENCIES.map((u) => (
          <label key={u} className={urgency === u ? "choice on" : "choice"}>
            <input type="radio" name="urgency" value={u} checked={urgency === u} onChange={() => setUrgency(u)} />
            <span>
              <strong>{t(`urgency${u[0]!.toUpperCase()}${u.slice(1)}`)}</strong>
              <small>{t(`urgency${u[0]!.toUpperCase()}${u.slice(1)}Hint`)}</small>
            </span>
          </label>
        ))}
        <small className="note">{t("priorityNote")}</small>
      </fieldset>
      {urgency === "routine" && (
        <fieldset className="windows">
          <legend>{t("preferredTimes")}</legend>
          {windows.map((w, i) => (
            <div key={i} className="window">
              <input
                type="date"
                aria-label={t("day")}
                value={w.day}
                min={tomorrow}
                onChange={(e) => setWindows(windows.map((x, j) => (j === i ? { ...x, day: e.target.value } : x)))}
                required
              />
              <select
                aria-label={t("partOfDay")}
                value={w.part}
                onChange={(e) =>
                  setWindows(windows.map((x, j) => (j === i ? { ...x, part: e.target.value as DayPart } : x)))
                }
              >
                {(Object.keys(DAY_PARTS) as DayPart[]).map((p) => (
                  <option key={p} value={p}>
                    {t(p)}
                  </option>
                ))}
              </select>
              {windows.length > 1 && (
                <button type="button" className="link" onClick={() => setWindows(windows.filter((_, j) => j !== i))}>
                  {t("remove")}
                </button>
              )}
            </div>
          ))}
          {windows.length < 3 && (
            <button type="button" className="link" onClick={() => setWindows([...windows, { day: tomorrow, part: "afternoon" }])}>
              {t("addWindow")}
            </button>
          )}
        </fieldset>
      )}
      <label htmlFor="f-name">{t("contactName")}</label>
      <input id="f-name" value={contactName} onChange={(e) => setContactName(e.target.value)} autoComplete="name" maxLength={200} />
      <label htmlFor="f-phone">{t("contactPhone")}</label>
      <input
          id="f-phone"
          value={contactPhone}
          onChange={(e) => setContactPhone(e.target.value)}
          type="tel"
          autoComplete="tel"
          maxLength={50}
        />
      {failure && <p role="alert">{failure}</p>}
      {filed === null ? (
        <button type="submit" className="primary big" disabled={!body || sending}>
          {sending ? t("sending") : t("send")}
        </button>
      ) : (
        <div className="filed-photos">
          <button type="button" className="primary big" disabled={sending} onClick={() => void retryPhotos()}>
            {sending ? t("sending") : t("sendPhotosAgain")}
          </button>
          <button type="button" className="link" onClick={() => finish(filed)}>
            {t("withoutPhotos")}
          </button>
        </div>
      )}
    </form>
  );
}
