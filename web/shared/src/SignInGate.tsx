import { useCallback, useEffect, useState, type ReactNode } from "react";
import {
  completeOidcSignIn,
  currentSession,
  listDemoUsers,
  loadAuthConfig,
  oidcManager,
  signInAsDemoUser,
  signOut,
  type AuthConfig,
  type DemoUser,
  type Session,
} from "./auth";
import { LocaleSwitch, useI18n } from "./i18n";

/** How one app signs in; everything else (config, OIDC return, demo users, sign-out) is the same in all four. */
export interface SignInGateProps {
  /** The app's own path, where the identity provider sends the user back (e.g. "/console/"). */
  appPath: string;
  /** The message key of the app's name on the sign-in page. */
  titleKey?: string;
  /** Only demo users of this role are offered (all roles, with the role shown, when unset). */
  role?: string;
  /** Classes for the page's header, the sign-in buttons (the technician app's are big) and the provider's button. */
  headerClass?: string;
  buttonClass?: string;
  providerButtonClass?: string;
  /** The session to start with (default: the tab's). */
  initialSession?: () => Session | null;
  /** Called with every new session or with null on sign-out (the technician app keeps its own copy). */
  onSession?: (session: Session | null) => void;
  /** Called just before the redirect to the identity provider, and with the session once back from it. */
  beforeRedirect?: () => void;
  afterRedirect?: (session: Session | null) => void;
  /** Shown when the sign-in configuration cannot be read and no session is kept (default: the error). */
  unreachable?: ReactNode;
  /** Shown under the demo list when no demo user of the role exists. */
  noUsersKey?: string;
  children: (session: Session, onSignOut: () => void) => ReactNode;
}

export function SignInGate(props: SignInGateProps) {
  const { appPath, initialSession, onSession, afterRedirect } = props;
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [session, setSessionState] = useState<Session | null>(initialSession ?? currentSession);
  const [error, setError] = useState<string | null>(null);

  const setSession = useCallback(
    (next: Session | null) => {
      onSession?.(next);
      setSessionState(next);
    },
    [onSession],
  );

  useEffect(() => {
    loadAuthConfig()
      .then(async (loaded) => {
        setConfig(loaded);
        if (loaded.mode === "oidc" && !currentSession()) {
          const signedIn = await completeOidcSignIn(oidcManager(loaded, appPath));
          afterRedirect?.(signedIn);
          if (signedIn) setSession(signedIn);
        }
      })
      .catch((e: unknown) => setError(String(e)));
  }, []); // read once per page load; the callbacks are the app's constants

  const onSignOut = useCallback(() => {
    signOut();
    setSession(null);
    if (config?.mode === "oidc") void oidcManager(config, appPath).signoutRedirect();
  }, [config, appPath, setSession]);

  // A kept session works without the configuration: the technician app opens offline.
  if (session) return <>{props.children(session, onSignOut)}</>;
  if (error) return <>{props.unreachable ?? <p role="alert">{error}</p>}</>;
  if (!config) return null;
  return <SignIn {...props} config={config} onSignedIn={setSession} />;
}

function SignIn({
  config,
  onSignedIn,
  appPath,
  titleKey = "title",
  role,
  headerClass,
  buttonClass,
  providerButtonClass,
  beforeRedirect,
  noUsersKey,
}: SignInGateProps & { config: AuthConfig; onSignedIn: (s: Session) => void }) {
  const { t } = useI18n();
  const [users, setUsers] = useState<DemoUser[]>([]);
  useEffect(() => {
    if (config.mode === "dev") void listDemoUsers().then((all) => setUsers(all.filter((u) => !role || u.role === role)));
  }, [config, role]);
  return (
    <main className="sign-in">
      <header className={headerClass}>
        <h1>{t(titleKey)}</h1>
        <LocaleSwitch />
      </header>
      <h2>{t("signIn")}</h2>
      {config.mode === "oidc" ? (
        <button
          type="button"
          className={providerButtonClass ?? buttonClass}
          onClick={() => {
            beforeRedirect?.();
            void oidcManager(config, appPath).signinRedirect();
          }}
        >
          {t("signInWithProvider")}
        </button>
      ) : (
        <>
          <p>{t("devSignIn")}</p>
          {users.length === 0 && noUsersKey && <p className="note">{t(noUsersKey)}</p>}
          <ul className="demo-users">
            {users.map((u) => (
              <li key={u.subject}>
                <button type="button" className={buttonClass} onClick={() => void signInAsDemoUser(u.subject).then(onSignedIn)}>
                  {u.name} {!role && <small>({u.role})</small>}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
