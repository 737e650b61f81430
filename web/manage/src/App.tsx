import { useCallback, useMemo, useState } from "react";
import {
  apiClients,
  LocaleSwitch,
  SignInGate,
  useI18n,
  type Session,
} from "@fieldline/shared";
import { ProblemError, WorkspaceContext } from "./api";
import { CustomersView, EquipmentView, SitesView } from "./estate";
import { ContractsView } from "./contracts";
import { CalendarView } from "./calendar";
import { ImportView } from "./imports";
import { TerritoriesView } from "./territories";

const APP_PATH = "/manage/";
const SECTIONS = ["customers", "sites", "equipment", "contracts", "calendar", "import", "territories"] as const;
type Section = (typeof SECTIONS)[number];

export function App() {
  return <SignInGate appPath={APP_PATH}>{(session, onSignOut) => <Workspace session={session} onSignOut={onSignOut} />}</SignInGate>;
}

function Workspace({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t } = useI18n();
  const [section, setSection] = useState<Section>("customers");
  const [problem, setProblem] = useState<string | null>(null);
  const [openContract, setOpenContract] = useState<string | null>(null);
  const api = useMemo(() => apiClients(() => session.accessToken), [session]);
  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof ProblemError && e.status === 401) onSignOut();
      setProblem(e instanceof Error ? e.message : String(e));
    },
    [onSignOut],
  );
  const workspace = useMemo(() => ({ api, token: session.accessToken, fail }), [api, session, fail]);
  const showContract = useCallback((id: string) => {
    setOpenContract(id);
    setSection("contracts");
  }, []);

  return (
    <WorkspaceContext.Provider value={workspace}>
      <div className="workspace">
        <header>
          <h1>{t("title")}</h1>
          <nav aria-label={t("sections")}>
            {SECTIONS.map((s) => (
              <button key={s} type="button" aria-current={section === s ? "page" : undefined} onClick={() => setSection(s)}>
                {t(`section.${s}`)}
              </button>
            ))}
          </nav>
          <LocaleSwitch />
          <span className="who">{session.name}</span>
          <button type="button" onClick={onSignOut}>
            {t("signOut")}
          </button>
        </header>
        {problem && (
          <p role="alert" className="problem" onClick={() => setProblem(null)}>
            {problem}
          </p>
        )}
        <main>
          {section === "customers" && <CustomersView onOpenContract={showContract} />}
          {section === "sites" && <SitesView />}
          {section === "equipment" && <EquipmentView />}
          {section === "contracts" && <ContractsView opened={openContract} onOpen={setOpenContract} />}
          {section === "calendar" && <CalendarView onOpenContract={showContract} />}
          {section === "import" && <ImportView />}
          {section === "territories" && <TerritoriesView />}
        </main>
      </div>
    </WorkspaceContext.Provider>
  );
}
