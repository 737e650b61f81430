import { useCallback, useEffect, useMemo, useState } from "react";
import {
  apiClients,
  completeOidcSignIn,
  currentSession,
  listDemoUsers,
  loadAuthConfig,
  LocaleSwitch,
  oidcManager,
  signInAsDemoUser,
  signOut,
  useI18n,
  type AuthConfig,
  type DemoUser,
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
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [session, setSession] = useState<Session | null>(currentSession);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    loadAuthConfig()
      .then(async (loaded) => {
        setConfig(loaded);
        if (loaded.mode === "oidc" && !currentSession()) setSession(await completeOidcSignIn(oidcManager(loaded, APP_PATH)));
      })
      .catch((e: unknown) => setError(String(e)));
  }, []);

  const onSignOut = useCallback(() => {
    signOut();
    setSession(null);
    if (config?.mode === "oidc") void oidcManager(config, APP_PATH).signoutRedirect();
  }, [config]);

  if (error) return <p role="alert">{error}</p>;
  if (!config) return null;
  if (!session) return <SignIn config={config} onSignedIn={setSession} />;
  return <Workspace session={session} onSignOut={onSignOut} />;
}

function SignIn({ config, onSignedIn }: { config: AuthConfig; onSignedIn: (s: Session) => void }) {
  const { t } = useI18n();
  const [users, setUsers] = useState<DemoUser[]>([]);
  useEffect(() => {
    if (config.mode === "dev") void listDemoUsers().then(setUsers);
  }, [config]);
  return (
    <main className="sign-in">
      <header>
        <h1>{t("title")}</h1>
        <LocaleSwitch />
      </header>
      <h2>{t("signIn")}</h2>
      {config.mode === "oidc" ? (
        <button type="button" onClick={() => void oidcManager(config, APP_PATH).signinRedirect()}>
          {t("signInWithProvider")}
        </button>
      ) : (
        <>
          <p>{t("devSignIn")}</p>
          <ul className="demo-users">
            {users.map((u) => (
              <li key={u.subject}>
                <button type="button" onClick={() => void signInAsDemoUser(u.subject).then(onSignedIn)}>
                  {u.name} <small>({u.role})</small>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
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
