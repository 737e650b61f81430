import { openDB, type DBSchema, type IDBPDatabase } from "idb";

/** A command the technician gave, kept until the server has answered it: replayed in order, same id each time. */
export interface QueuedCommand {
  seq?: number; // the IndexedDB key (auto-increment): the order of replay
  id: string; // client_command_id (an upload's attachment id): the server applies it once, whatever the replays
  kind: "accept" | "decline" | "status" | "break" | "report" | "positions" | "upload";
  method: "POST" | "PUT";
  path: string; // under /api/dispatch
  body?: unknown; // JSON
  blob?: Blob; // an upload's picture
  contentType?: string;
  assignmentId?: string;
  effect?: string; // the assignment status it leads to, shown while it waits ("accepted", "en_route", ...)
  what: string; // for the waiting list: the stop's address, the photo's kind...
  createdAt: string;
  attempts: number;
  lastError?: string;
}

/** A command the server refused when it was replayed, with its reason (problem+json detail). */
export interface RefusedCommand {
  id: string;
  kind: QueuedCommand["kind"];
  effect?: string;
  what: string;
  status: number;
  reason: string;
  at: string;
}

interface TechDB extends DBSchema {
  queue: { key: number; value: QueuedCommand };
  refused: { key: string; value: RefusedCommand };
  kv: { key: string; value: unknown };
}

let opened: Promise<IDBPDatabase<TechDB>> | null = null;
let owner = "";

/** One database per signed-in technician (the token's subject): a shared phone never replays one technician's
 * commands with another's token, nor shows them another's day. */
export function storeFor(subject: string): void {
  if (subject === owner) return;
  owner = subject;
  opened = null;
}

function db(): Promise<IDBPDatabase<TechDB>> {
  opened ??= openDB<TechDB>(`fieldline-tech:${owner}`, 1, {
    upgrade(database) {
      database.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      database.createObjectStore("refused", { keyPath: "id" });
      database.createObjectStore("kv");
    },
  });
  return opened;
}

export async function enqueue(command: Omit<QueuedCommand, "seq" | "createdAt" | "attempts">): Promise<void> {
  await (await db()).add("queue", { ...command, createdAt: new Date().toISOString(), attempts: 0 });
}

export async function queued(): Promise<QueuedCommand[]> {
  return (await db()).getAll("queue");
}

export async function firstQueued(): Promise<QueuedCommand | undefined> {
  const cursor = await (await db()).transaction("queue").store.openCursor();
  return cursor?.value;
}

export async function markAttempt(command: QueuedCommand, error: string): Promise<void> {
  await (await db()).put("queue", { ...command, attempts: command.attempts + 1, lastError: error });
}

export async function settle(command: QueuedCommand, refusal?: Omit<RefusedCommand, "id" | "kind" | "effect" | "what">) {
  const tx = (await db()).transaction(["queue", "refused"], "readwrite");
  await tx.objectStore("queue").delete(command.seq!);
  if (refusal) {
    await tx.objectStore("refused").put({ id: command.id, kind: command.kind, effect: command.effect, what: command.what, ...refusal });
  }
  await tx.done;
}

export async function refused(): Promise<RefusedCommand[]> {
  return (await db()).getAll("refused");
}

export async function dismissRefused(id: string): Promise<void> {
  await (await db()).delete("refused", id);
}

export async function saveValue(key: string, value: unknown): Promise<void> {
  await (await db()).put("kv", value, key);
}

export async function loadValue<T>(key: string): Promise<T | undefined> {
  return (await (await db()).get("kv", key)) as T | undefined;
}
