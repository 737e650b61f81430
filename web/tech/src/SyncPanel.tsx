import { useI18n } from "@fieldline/shared";
import type { QueuedCommand, RefusedCommand } from "./store";

function label(t: (k: string, v?: Record<string, string | number>) => string, c: { kind: string; effect?: string; what: string }) {
  const key = c.kind === "status" ? `cmd_status_${c.effect}` : `cmd_${c.kind}`;
  return t(key, { what: c.what });
}

/** What the technician can do about a refusal, by the kind of answer. */
function whatToDo(status: number, kind: string): string {
  if (kind === "break") return "refusedBreak";
  if (status === 404 || status === 403) return "refusedGone"; // the job is not theirs (any more)
  if (status === 409) return "refusedChanged"; // the job moved on meanwhile
  if (status === 413 || status === 415) return "refusedPicture";
  return "refusedWhat";
}

/** What is still waiting to sync, and what the server refused on replay (with its reason and what to do). */
export function SyncPanel({
  waiting,
  refusals,
  onSync,
  onDismiss,
}: {
  waiting: QueuedCommand[];
  refusals: RefusedCommand[];
  onSync: () => void;
  onDismiss: (id: string) => void;
}) {
  const { t } = useI18n();
  return (
    <section className="sync" aria-label={t("queueTitle", { n: waiting.length })}>
      {refusals.length > 0 && (
        <div className="refused" role="alert" data-testid="refused">
          <h2>{t("refusedTitle")}</h2>
          <ul>
            {refusals.map((r) => (
              <li key={r.id} data-testid="refused-command">
                <strong>{label(t, r)}</strong>
                <span className="reason">{r.reason}</span>
                <span className="what-to-do">{t(whatToDo(r.status, r.kind))}</span>
                <button type="button" onClick={() => onDismiss(r.id)}>
                  {t("dismiss")}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {waiting.length === 0 ? (
        <p className="queue-empty" data-testid="queue-empty">
          {t("queueEmpty")}
        </p>
      ) : (
        <details className="queue" open data-testid="queue">
          <summary>{t("queueTitle", { n: waiting.length })}</summary>
          <ol>
            {waiting.map((c) => (
              <li key={c.seq} data-testid="queued-command">
                {label(t, c)}
                {c.lastError && (
                  <small className="last-error">
                    {" "}
                    · {c.lastError === "offline" ? t("offline") : t("serverBusy", { status: c.lastError })}
                  </small>
                )}
              </li>
            ))}
          </ol>
          <button type="button" onClick={onSync}>
            {t("syncNow")}
          </button>
        </details>
      )}
    </section>
  );
}
