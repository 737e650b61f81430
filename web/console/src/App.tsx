import { useCallback, useEffect, useMemo, useState } from "react";
import {
  apiClients,
  COMPANY_TIME_ZONE,
  LocaleSwitch,
  SignInGate,
  useI18n,
  type Problem,
  type Session,
} from "@fieldline/shared";
import type { Booking, BoardRequest, PlanChanges } from "./board";
import { JobDetail } from "./JobDetail";
import { AtRiskList } from "./AtRiskList";
import { MapView, type Territory } from "./MapView";
import { ScheduleBoard } from "./ScheduleBoard";
import { ProposalPanel, type Proposal } from "./Proposal";
import { VisitReport } from "./VisitReport";
import { useLiveBoard } from "./useLiveBoard";

const BUSY_RETRIES = 6; // a planner busy for more than half a minute more is worth telling the dispatcher

const APP_PATH = "/console/";

export function App() {
  return <SignInGate appPath={APP_PATH}>{(session, onSignOut) => <Console session={session} onSignOut={onSignOut} />}</SignInGate>;
}

export interface Refusal {
  technicianId: string;
  reason: string;
}

function Console({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t } = useI18n();
  const api = useMemo(() => apiClients(() => session.accessToken), [session]);
  const { board, live, reload } = useLiveBoard(api, session, onSignOut);
  const [selectedTech, setSelectedTech] = useState<string | null>(null);
  const [selectedJob, setSelectedJob] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [planChanges, setPlanChanges] = useState<PlanChanges | null>(null);
  // the territories, drawn under the map's technicians and jobs (contracts; read once per sign-in)
  const [territories, setTerritories] = useState<Territory[]>([]);
  useEffect(() => {
    void api.contracts.GET("/territories").then(({ data }) => data && setTerritories(data));
  }, [api]);

  // The last move, to put back: the booking as it was (technician and start), or none if it came from the queue.
  const [lastMove, setLastMove] = useState<{ requestId: string; assignmentId: string; before: Booking | null } | null>(
    null,
  );

  const moveJob = useCallback(
    async (job: BoardRequest, technicianId: string, start: string | null) => {
      setRefusal(null);
      setLastMove(null);
      const planned_start = start ?? undefined;
      const result = job.assignment
        ? await api.dispatch.POST("/assignments/{assignment_id}/reassign", {
            params: { path: { assignment_id: job.assignment.id } },
            body: { technician_id: technicianId, planned_start, lock: false },
          })
        : await api.dispatch.POST("/assignments", {
            body: { request_id: job.request_id, technician_id: technicianId, planned_start, lock: false },
          });
      if (result.error) {
        const problem = result.error as Problem;
        setRefusal({ technicianId, reason: problem.detail ?? problem.title ?? String(result.response.status) });
      } else {
        setNotice(t("moved"));
        setLastMove({ requestId: job.request_id, assignmentId: result.data.id, before: job.assignment });
      }
      await reload();
    },
    [api, reload, t],
  );

  // Undo asks the server like any move (its checks decide): back to the technician and start it had, or, for a
  // job taken from the queue, the booking cancelled so the job waits in the queue again.
  const undoMove = useCallback(async () => {
    if (!lastMove) return;
    setLastMove(null);
    const { before } = lastMove;
    const result = before
      ? await api.dispatch.POST("/assignments/{assignment_id}/reassign", {
          params: { path: { assignment_id: lastMove.assignmentId } },
          body: { technician_id: before.technician_id, planned_start: before.planned_start, lock: before.locked },
        })
      : await api.dispatch.POST("/assignments/{assignment_id}/status", {
          params: { path: { assignment_id: lastMove.assignmentId } },
          body: { status: "cancelled", reason: "undone in the console" },
        });
    if (result.error) setNotice(t("refused", { reason: (result.error as Problem).detail ?? String(result.response.status) }));
    else setNotice(t("undone"));
    await reload();
  }, [api, lastMove, reload, t]);

  const setLock = useCallback(
    async (assignmentId: string, locked: boolean) => {
      await api.dispatch.POST("/assignments/{assignment_id}/lock", {
        params: { path: { assignment_id: assignmentId } },
        body: { locked },
      });
      await reload();
    },
    [api, reload],
  );

  // Re-planning is two steps: the server plans the day and answers what would change (nothing is booked yet);
  // the dispatcher reads it and applies exactly that plan, or lets it go.
  const [proposal, setProposal] = useState<Proposal | null>(null);
  const [proposalRefusal, setProposalRefusal] = useState<string | null>(null);
  const [proposalBusy, setProposalBusy] = useState(false);
  const problemText = (error: unknown, response: Response) =>
    (error as Problem | undefined)?.detail ?? `${response.status} ${response.statusText}`;

  const propose = useCallback(async () => {
    if (!board) return;
    setNotice(t("replanning"));
    setProposalBusy(true);
    setProposalRefusal(null);
    setPlanChanges(null);
    const ask = () =>
      api.dispatch.POST("/plans/{day}/proposals", {
        params: { path: { day: board.day } },
        body: { reason: "re-plan requested in the console", release_promises: false },
      });
    let { data, error, response } = await ask();
    // another run holds the planner (one plan at a time): the server says when to try again, and the console does,
    // a few times, rather than hand the dispatcher a refusal for what is only a wait
    for (let attempt = 0; attempt < BUSY_RETRIES && response.status === 409; attempt++) {
      const wait = Number(response.headers.get("Retry-After"));
      if (!Number.isFinite(wait) || wait <= 0) break;
      setNotice(t("plannerBusy"));
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      setNotice(t("replanning"));
      ({ data, error, response } = await ask());
    }
    setProposalBusy(false);
    if (error || !data) return setNotice(problemText(error, response));
    setNotice(null);
    setProposal(data);
  }, [api, board, t]);

  const acceptProposal = useCallback(async () => {
    if (!proposal) return;
    setProposalBusy(true);
    const { data, error, response } = await api.dispatch.POST("/plans/{day}/proposals/{proposal_id}/accept", {
      params: { path: { day: proposal.day, proposal_id: proposal.id } },
    });
    setProposalBusy(false);
    if (error || !data) return setProposalRefusal(problemText(error, response));
    const plan = data;
    setProposal(null);
    setNotice(t("replanned", { v: plan.version ?? "?", n: plan.changes.length }));
    setPlanChanges(plan);
    await reload();
  }, [api, proposal, reload, t]);

  const discardProposal = useCallback(async () => {
    if (!proposal) return;
    setProposal(null);
    setProposalRefusal(null);
    await api.dispatch.DELETE("/plans/{day}/proposals/{proposal_id}", {
      params: { path: { day: proposal.day, proposal_id: proposal.id } },
    });
  }, [api, proposal]);

  const showLastChanges = useCallback(async () => {
    if (!board) return;
    const { data, error } = await api.dispatch.GET("/plans/{day}/diff", { params: { path: { day: board.day } } });
    if (error) setNotice((error as Problem).detail ?? "error");
    else if (data) setPlanChanges(data);
  }, [api, board]);

  const job = board?.requests.find((r) => r.request_id === selectedJob) ?? null;
  return (
    <div className="console">
      <header>
        <h1>{t("title")}</h1>
        <span className="tz">{t("timeZone", { zone: COMPANY_TIME_ZONE })}</span>
        <span className={live ? "live on" : "live off"} data-testid="live">
          {live ? t("live") : t("offline")}
        </span>
        <button type="button" disabled={!board || proposalBusy} onClick={() => void propose()}>
          {t("replan")}
        </button>
        <button type="button" disabled={!board} onClick={() => void showLastChanges()}>
          {t("planChanges")}
        </button>
        <LocaleSwitch />
        <span className="who">{session.name}</span>
        <button type="button" onClick={onSignOut}>
          {t("signOut")}
        </button>
      </header>
      {notice && (
        <p role="status" className="notice" onClick={() => setNotice(null)}>
          {notice}
          {lastMove && notice === t("moved") && (
            <button
              type="button"
              className="undo"
              onClick={(e) => {
                e.stopPropagation();
                void undoMove();
              }}
            >
              {t("undo")}
            </button>
          )}
        </p>
      )}
      {board && (
        <div className="layout">
          <MapView board={board} territories={territories} selectedTech={selectedTech} onSelectTech={setSelectedTech} onSelectJob={setSelectedJob} />
          <AtRiskList requests={board.requests} onSelectJob={setSelectedJob} />
          <ScheduleBoard
            board={board}
            refusal={refusal}
            onMove={(j, tech, start) => void moveJob(j, tech, start)}
            onSelectJob={setSelectedJob}
            onSelectTech={setSelectedTech}
          />
          {proposal && (
            <ProposalPanel
              proposal={proposal}
              refusal={proposalRefusal}
              busy={proposalBusy}
              onAccept={() => void acceptProposal()}
              onDiscard={() => void discardProposal()}
              onProposeAgain={() => void propose()}
            />
          )}
          {planChanges && (
            <section className="plan-changes" aria-label={t("planChanges")}>
              <h2>
                {t("planChanges")} · v{planChanges.version} · {planChanges.reason}
              </h2>
              {planChanges.changes.length === 0 && <p>{t("noChanges")}</p>}
              <ul>
                {planChanges.changes.map((c, i) => (
                  <li key={`${c.request_id}-${i}`}>{c.text}</li>
                ))}
              </ul>
              <button type="button" onClick={() => setPlanChanges(null)}>
                {t("close")}
              </button>
            </section>
          )}
          {job && (
            <JobDetail
              api={api}
              token={session.accessToken}
              job={job}
              board={board}
              onClose={() => setSelectedJob(null)}
              onLock={setLock}
              onMove={(j, tech, start) => void moveJob(j, tech, start)}
            />
          )}
          {selectedJob && (
            <VisitReport requestId={selectedJob} token={session.accessToken} onClose={() => setSelectedJob(null)} />
          )}
        </div>
      )}
    </div>
  );
}
