import { useCallback, useEffect, useRef, useState } from "react";
import {
  currentSession,
  followStream,
  LocaleSwitch,
  SignInGate,
  useI18n,
  type Session,
} from "@fieldline/shared";
import { dayChanges, stopName, type Day, type Stop } from "./day";
import { DayView } from "./DayView";
import { ProfilePhoto } from "./ProfilePhoto";
import { NO_FACTS, readSiteFacts, type SiteFacts } from "./site";
import { SyncPanel } from "./SyncPanel";
import { dismissRefused, enqueue, storeFor, loadValue, queued, refused, saveValue, type QueuedCommand, type RefusedCommand } from "./store";
import { flush } from "./sync";

const APP_PATH = "/tech/";
// The shared sign-in keeps the token for the tab only; a technician reopening the installed app in a cellar has
// no network to sign in again, so the app keeps its own copy until the token expires or they sign out.
const SESSION_KEY = "fieldline.session";
const KEPT_SESSION_KEY = "fieldline.tech.session";

function claims(session: Session): { sub?: string; exp?: number } {
  const part = session.accessToken.split(".")[1] ?? "";
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: string; exp?: number };
}

function restoredSession(): Session | null {
  const current = currentSession();
  if (current) return current;
  const kept = localStorage.getItem(KEPT_SESSION_KEY);
  if (!kept) return null;
  let session: Session;
  try {
    session = JSON.parse(kept) as Session;
    const payload = claims(session);
    if (payload.exp && payload.exp * 1000 < Date.now()) throw new Error("expired");
  } catch {
    localStorage.removeItem(KEPT_SESSION_KEY); // expired or unreadable: sign in again
    return null;
  }
  sessionStorage.setItem(SESSION_KEY, kept);
  return session;
}

function keep(session: Session | null): void {
  if (session) localStorage.setItem(KEPT_SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(KEPT_SESSION_KEY); // signed out
}

export function App() {
  return (
    <SignInGate
      appPath={APP_PATH}
      titleKey="appName"
      role="technician"
      buttonClass="big"
      initialSession={restoredSession}
      onSession={keep}
      unreachable={<SignInOffline />}
    >
      {(session, onSignOut) => <TechApp session={session} onSignOut={onSignOut} />}
    </SignInGate>
  );
}

function SignInOffline() {
  const { t } = useI18n();
  return (
    <main className="sign-in">
      <h1>{t("appName")}</h1>
      <p role="alert">{t("signInNeedsNetwork")}</p>
    </main>
  );
}

export type Command = Omit<QueuedCommand, "seq" | "createdAt" | "attempts" | "id"> & { id?: string };

export interface Position {
  lat: number;
  lon: number;
  accuracy_m?: number;
}

/** The server's "now" as this device best knows it: the device clock corrected by the offset seen at the last load. */
export function serverNow(offsetMs: number | null): string | undefined {
  return offsetMs === null ? undefined : new Date(Date.now() + offsetMs).toISOString();
}

const PING_BATCH_MS = 15_000;

function TechApp({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t, locale } = useI18n();
  storeFor(claims(session).sub ?? "unknown"); // before any effect reads the store
  const token = useCallback(() => session.accessToken, [session]);
  const [day, setDay] = useState<Day | null>(null);
  const [facts, setFacts] = useState<SiteFacts>(NO_FACTS);
  const knownFacts = useRef<SiteFacts>(NO_FACTS);
  const [savedAt, setSavedAt] = useState<string | null>(null); // set while the day shown is the saved copy
  const [waiting, setWaiting] = useState<QueuedCommand[]>([]);
  const [refusals, setRefusals] = useState<RefusedCommand[]>([]);
  const [online, setOnline] = useState(navigator.onLine);
  const [notices, setNotices] = useState<string[]>([]);
  const [live, setLive] = useState(false);
  const offset = useRef<number | null>(null);
  const position = useRef<Position | null>(null);
  const shown = useRef<Day | null>(null);
  // Loads of the day may overlap (a stream frame's, the one after a command synced): only the newest one asked is
  // shown, so an answer read before a command reached the server never takes its effect back off the screen.
  const loads = useRef(0);
  const ownDeclines = useRef(new Set<string>());

  const readQueue = useCallback(async () => {
    setWaiting(await queued());
    setRefusals(await refused());
  }, []);

  const refreshFacts = useCallback(
    async (of: Day) => {
      const read = await readSiteFacts(of, session.accessToken, knownFacts.current);
      knownFacts.current = read;
      setFacts(read);
      await saveValue("facts", read);
    },
    [session],
  );

  // Contracts learns of a new booking a moment after dispatch: a site it would not show yet is asked again.
  const factTries = useRef(0);
  useEffect(() => {
    const missing = day?.stops.some((s) => !facts.sites[s.site.site_id]);
    if (!day || !missing || !online || factTries.current >= 15) return; // then the next reload of the day asks
    const again = setTimeout(() => ((factTries.current += 1), void refreshFacts(day)), 2000);
    return () => clearTimeout(again);
  }, [day, facts, online, refreshFacts]);

  const loadDay = useCallback(
    async () => {
      const load = ++loads.current;
      try {
        const response = await fetch(`${location.origin}/api/dispatch/me/day`, {
          headers: { Authorization: `Bearer ${session.accessToken}` },
        });
        if (response.status === 401) return onSignOut();
        if (!response.ok) throw new Error(String(response.status));
        const loaded = (await response.json()) as Day;
        if (load !== loads.current) return; // a newer load is under way: it shows the newer day
        if (loaded.server_time) offset.current = new Date(loaded.server_time).getTime() - Date.now();
        await saveValue("day", { day: loaded, savedAt: new Date().toISOString(), offset: offset.current });
        if (shown.current) {
          // what the technician did themselves is no news: a stop they declined leaves the day
          const declined = new Set((await queued()).filter((c) => c.kind === "decline").map((c) => c.assignmentId));
          const changes = dayChanges(shown.current, loaded).filter((c) => !(c.kind === "gone" && (declined.has(c.stop.assignment.id) || ownDeclines.current.has(c.stop.assignment.id))));
          const texts = changes.map(({ kind, stop }) =>
            t(`notice_${kind}`, { what: stopName(stop), time: new Date(stop.assignment.planned_start).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Simferopol" }) }),
          );
          if (texts.length) setNotices((all) => [...all, ...texts]);
        }
        if (load !== loads.current) return;
        shown.current = loaded;
        factTries.current = 0;
        setDay(loaded);
        setSavedAt(null);
        await refreshFacts(loaded);
      } catch {
        if (load !== loads.current) return;
        const saved = await loadValue<{ day: Day; savedAt: string; offset: number | null }>("day");
        if (saved && !shown.current) {
          shown.current = saved.day;
          offset.current = saved.offset;
          setDay(saved.day);
        }
        if (saved) setSavedAt(saved.savedAt);
        const kept = await loadValue<SiteFacts>("facts");
        if (kept && knownFacts.current === NO_FACTS) {
          knownFacts.current = kept;
          setFacts(kept);
        }
      }
    },
    [session, onSignOut, t, locale, refreshFacts],
  );

  const sync = useCallback(async () => {
    const before = (await queued()).length;
    await flush(token, () => void readQueue());
    await readQueue();
    if (before && (await queued()).length < before) await loadDay();
  }, [token, readQueue, loadDay]);

  const run = useCallback(
    async (command: Command) => {
      if (command.kind === "decline" && command.assignmentId) ownDeclines.current.add(command.assignmentId);
      await enqueue({ ...command, id: command.id ?? crypto.randomUUID() });
      await readQueue();
      await sync();
    },
    [readQueue, sync],
  );

  useEffect(() => {
    void readQueue();
    void loadDay().then(() => sync());
    const wentOnline = () => {
      setOnline(true);
      void sync().then(() => loadDay());
    };
    const wentOffline = () => setOnline(false);
    window.addEventListener("online", wentOnline);
    window.addEventListener("offline", wentOffline);
    const retry = setInterval(() => void sync(), 10_000);
    return () => {
      window.removeEventListener("online", wentOnline);
      window.removeEventListener("offline", wentOffline);
      clearInterval(retry);
    };
  }, [loadDay, readQueue, sync]);

  // Live changes: any frame on the technician's stream reloads the day; what changed becomes a notice.
  useEffect(() => {
    let pending: ReturnType<typeof setTimeout> | null = null;
    return followStream(
      `${location.origin}/api/notify/streams/me`,
      token,
      () => {
        if (pending === null) pending = setTimeout(() => ((pending = null), void loadDay()), 300);
      },
      (connected) => {
        setLive(connected);
        if (connected) void loadDay();
      },
    );
  }, [token, loadDay]);

  // Positions while en route: fixes collected on the device, sent in batches through the same queue (so a batch
  // taken with no signal waits like any command); what is left when the technician stops driving goes at once.
  const enRoute = (day?.stops ?? []).some((s) => effectiveStatus(s, waiting) === "en_route");
  const pings = useRef<{ at: string; position: { lat: number; lon: number }; accuracy_m?: number }[]>([]);
  const [fixes, setFixes] = useState(0);
  useEffect(() => {
    const sendBatch = () => {
      if (!pings.current.length) return;
      const sent = pings.current.splice(0, pings.current.length);
      setFixes(0);
      void run({ kind: "positions", method: "POST", path: "/me/positions", what: String(sent.length), body: { client_command_id: crypto.randomUUID(), pings: sent } });
    };
    if (!("geolocation" in navigator)) return;
    const watch = navigator.geolocation.watchPosition(
      (fix) => {
        const here = { lat: fix.coords.latitude, lon: fix.coords.longitude };
        position.current = { ...here, accuracy_m: Math.round(fix.coords.accuracy) };
        const at = serverNow(offset.current);
        if (enRoute && at) {
          pings.current.push({ at, position: here, accuracy_m: Math.round(fix.coords.accuracy) });
          setFixes(pings.current.length);
        }
      },
      () => undefined,
      { enableHighAccuracy: true, maximumAge: 10_000 },
    );
    const batch = setInterval(sendBatch, PING_BATCH_MS);
    return () => {
      navigator.geolocation.clearWatch(watch);
      clearInterval(batch);
      sendBatch();
    };
  }, [enRoute, run]);

  return (
    <div className="tech">
      <header className="bar">
        <h1>{t("title")}</h1>
        <span className={online ? "net on" : "net off"} data-testid="network">
          {online ? t("online") : t("offline")}
        </span>
        {enRoute && (
          <span className="gps" data-testid="gps">
            {t("gpsFixes", { n: fixes })}
          </span>
        )}
        <span className={live ? "live on" : "live off"} data-testid="live" title={t("liveTitle")}>
          {live ? t("live") : "—"}
        </span>
        <LocaleSwitch />
      </header>
      {notices.length > 0 && (
        <div className="notices" role="status" aria-live="polite" data-testid="notices">
          {notices.map((text, i) => (
            <p key={i}>{text}</p>
          ))}
          <button type="button" onClick={() => setNotices([])}>
            {t("dismiss")}
          </button>
        </div>
      )}
      {savedAt && <p className="saved">{t("savedAt", { time: new Date(savedAt).toLocaleTimeString(locale) })}</p>}
      <SyncPanel
        waiting={waiting}
        refusals={refusals}
        onSync={() => void sync()}
        onDismiss={(id) => void dismissRefused(id).then(readQueue)}
      />
      {day && (
        <DayView
          day={day}
          facts={facts}
          waiting={waiting}
          run={run}
          at={() => serverNow(offset.current)}
          position={() => position.current}
        />
      )}
      <footer className="foot">
        <ProfilePhoto token={session.accessToken} />
        <span>{session.name}</span>
        {/* rarely needed, so out of the thumb's way at the bottom */}
        <button type="button" onClick={onSignOut}>
          {t("signOut")}
        </button>
      </footer>
    </div>
  );
}

/** The status shown: the server's, unless a command still waiting to sync leads elsewhere. */
export function effectiveStatus(stop: Stop, waiting: QueuedCommand[]): string {
  let status = stop.assignment.status;
  for (const command of waiting) if (command.assignmentId === stop.assignment.id && command.effect) status = command.effect;
  return status;
}
