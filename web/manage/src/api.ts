import { createContext, useContext } from "react";
import type { ApiClients, ContractsComponents, Problem, RequestsComponents } from "@fieldline/shared";

type S = ContractsComponents["schemas"];
export type Customer = S["CustomerOut"];
export type Site = S["SiteOut"];
export type Unit = S["EquipmentOut"];
export type Contract = S["ContractOut"];
export type ContractIn = S["ContractIn"];
export type Schedule = S["ScheduleOut"];
export type CalendarVisit = S["CalendarVisitOut"];
export type PreviewedVisit = S["PreviewedVisitOut"];
export type TransitionPreview = S["TransitionPreviewOut"];
export type Health = S["ContractHealthOut"];
export type ImportReport = S["ImportReport"];
export type Territory = S["TerritoryOut"];
export type WeeklyHours = NonNullable<S["SiteIn"]["access_hours"]>;
export type KpiReport = RequestsComponents["schemas"]["KpiReport"];

export const PAGE_SIZE = 50;

interface Workspace {
  api: ApiClients;
  token: string;
  /** Something went wrong: the problem's detail, shown in the banner. */
  fail: (error: unknown) => void;
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const value = useContext(WorkspaceContext);
  if (!value) throw new Error("useWorkspace outside the workspace");
  return value;
}

export class ProblemError extends Error {
  constructor(
    readonly problem: Problem & { errors?: { field: string; reason: string }[] },
    readonly status: number,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The answer's data, or a ProblemError carrying the service's problem+json. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw new ProblemError((error ?? {}) as Problem, response.status);
  return data;
}

/** "mon-fri 08:00-20:00; sat 10:00-14:00" (the CSV import's format) as the API's weekly hours; null if empty. */
export function parseHours(text: string): WeeklyHours | null {
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
  const hours: WeeklyHours = {};
  const trimmed = text.trim();
  if (!trimmed) return null;
  for (const part of trimmed.split(";")) {
    const match = /^\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{2}:\d{2})-(\d{2}:\d{2})\s*$/.exec(part.toLowerCase());
    if (!match) throw new Error(part.trim());
    const first = days.indexOf(match[1] as (typeof days)[number]);
    const last = match[2] ? days.indexOf(match[2] as (typeof days)[number]) : first;
    if (first < 0 || last < first) throw new Error(part.trim());
    for (const day of days.slice(first, last + 1)) (hours[day] ??= []).push({ start: match[3]!, end: match[4]! });
  }
  return hours;
}

export function formatHours(hours: WeeklyHours | null | undefined): string {
  if (!hours) return "";
  const order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  return Object.entries(hours)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([day, stretches]) => `${day} ${(stretches ?? []).map((s) => `${s.start.slice(0, 5)}-${s.end.slice(0, 5)}`).join(",")}`)
    .join("; ");
}
