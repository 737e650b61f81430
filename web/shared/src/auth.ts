import { UserManager, WebStorageStateStore } from "oidc-client-ts";

/** What the gateway (or, in production, the deployment) says the apps sign in with. */
export type AuthConfig = { mode: "dev" } | { mode: "oidc"; issuer: string; client_id: string };

export interface Session {
  accessToken: string;
  name: string;
  role: string;
}

export interface DemoUser {
  subject: string;
  name: string;
  role: string;
}

// Session storage: the token lives as long as the tab, never in a URL.
const SESSION_KEY = "fieldline.session";

export async function loadAuthConfig(): Promise<AuthConfig> {
  const response = await fetch("/auth/config");
  if (!response.ok) throw new Error(`auth config: ${response.status}`);
  return (await response.json()) as AuthConfig;
}

export function currentSession(): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

export async function listDemoUsers(): Promise<DemoUser[]> {
  const response = await fetch("/auth/dev/users");
  if (!response.ok) throw new Error(`demo users: ${response.status}`);
  return (await response.json()) as DemoUser[];
}

/** Development sign-in: the gateway mints a token for a demo user (only while the development keys are in use). */
export async function signInAsDemoUser(subject: string): Promise<Session> {
  const response = await fetch("/auth/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ subject }),
  });
  if (!response.ok) throw new Error(`sign-in: ${response.status}`);
  const body = (await response.json()) as { access_token: string; name: string; role: string };
  const session = { accessToken: body.access_token, name: body.name, role: body.role };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

/** OpenID Connect authorization code + PKCE (oidc-client-ts), redirecting back to the app's own path. */
export function oidcManager(config: Extract<AuthConfig, { mode: "oidc" }>, appPath: string): UserManager {
  return new UserManager({
    authority: config.issuer,
    client_id: config.client_id,
    redirect_uri: `${location.origin}${appPath}`,
    post_logout_redirect_uri: `${location.origin}${appPath}`,
    response_type: "code",
    scope: "openid profile",
    userStore: new WebStorageStateStore({ store: sessionStorage }),
  });
}

/** Finishes a code redirect if this page load is one; the code is removed from the address bar. */
export async function completeOidcSignIn(manager: UserManager): Promise<Session | null> {
  const params = new URLSearchParams(location.search);
  let user = await manager.getUser();
  if (params.has("code") && params.has("state")) {
    user = await manager.signinRedirectCallback();
    history.replaceState(null, "", location.pathname);
  }
  if (!user || user.expired) return null;
  const session = {
    accessToken: user.access_token,
    name: String(user.profile.name ?? user.profile.sub),
    role: String((user.profile as Record<string, unknown>).role ?? ""),
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(SESSION_KEY);
}
