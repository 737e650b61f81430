import { firstQueued, markAttempt, settle, type QueuedCommand } from "./store";

export type Outcome = "sent" | "refused" | "wait";

/** Sends one queued command; the server's answer decides what happens to it. */
async function send(command: QueuedCommand, token: string | null): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (command.blob) {
    body = command.blob;
    headers["Content-Type"] = command.contentType ?? command.blob.type;
  } else if (command.body !== undefined) {
    body = JSON.stringify(command.body);
    headers["Content-Type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(`${location.origin}/api/dispatch${command.path}`, { method: command.method, headers, body });
  } catch {
    await markAttempt(command, "offline");
    return "wait"; // no network: the whole queue waits, in order
  }
  if (response.ok) {
    await settle(command);
    return "sent";
  }
  // Not the command's fault: signed out, busy, rate-limited, a server or gateway down — try again later.
  if (response.status === 401 || response.status === 408 || response.status === 429 || response.status >= 500 || response.headers.has("Retry-After")) {
    await markAttempt(command, `${response.status}`);
    return "wait";
  }
  let reason = `${response.status} ${response.statusText}`;
  try {
    const problem = (await response.json()) as { detail?: string; title?: string };
    reason = problem.detail ?? problem.title ?? reason;
  } catch {
    // not problem+json: the status says it
  }
  await settle(command, { status: response.status, reason, at: new Date().toISOString() });
  return "refused";
}

let running = false;
let again = false;

/** Replays the queue in order until it is empty or must wait (no network, signed out, server busy); one replay at
 * a time (a call during a replay makes it look again before it stops). `onAnswer` runs after each answer. */
export async function flush(token: () => string | null, onAnswer: () => void): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  const replay = async () => {
    let waiting = false;
    do {
      again = false;
      for (;;) {
        const next = await firstQueued();
        if (!next) break;
        const outcome = await send(next, token());
        if (outcome === "wait") {
          waiting = true;
          break;
        }
        onAnswer();
      }
    } while (again && !waiting);
  };
  try {
    // one replay across the app's tabs and windows too: the order of the steps is the order they were made
    if (navigator.locks) await navigator.locks.request("fieldline-tech-replay", replay);
    else await replay();
  } finally {
    running = false;
  }
}
