import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import {
  apiClients,
  LocaleSwitch,
  SignInGate,
  useI18n,
  type ApiClients,
  type ContractsComponents,
  type Session,
} from "@fieldline/shared";
import { APP_PATH, linkProps, useRoute } from "./router";
import { NewRequest } from "./NewRequest";
import { HistoryPage, RequestsPage } from "./Requests";
import { SitesPage } from "./Sites";
import { TrackPage } from "./Track";
import { VisitPage } from "./Visits";

export type Cover = ContractsComponents["schemas"]["CustomerCoverOut"];

// where a deep link (an e-mail's /requests/{id}) wanted to go before the identity provider's round trip
const RETURN_KEY = "fieldline.portal.return";

interface Portal {
  api: ApiClients;
  session: Session;
  cover: Cover | null;
  reloadCover: () => void;
  navigate: (to: string) => void;
  onUnauthorised: () => void;
}

const PortalContext = createContext<Portal | null>(null);

export function usePortal(): Portal {
  const value = useContext(PortalContext);
  if (!value) throw new Error("usePortal outside the portal");
  return value;
}

// A deep link survives the identity provider's round trip: kept before the redirect, restored after it.
const rememberReturn = () => sessionStorage.setItem(RETURN_KEY, location.pathname);
function restoreReturn(signedIn: Session | null) {
  const back = sessionStorage.getItem(RETURN_KEY);
  if (signedIn && back) {
    sessionStorage.removeItem(RETURN_KEY);
    history.replaceState(null, "", back);
  }
}

export function App() {
  return (
    <SignInGate
      appPath={APP_PATH}
      role="customer"
      headerClass="bar"
      providerButtonClass="primary"
      noUsersKey="noDemoCustomer"
      beforeRedirect={rememberReturn}
      afterRedirect={restoreReturn}
    >
      {(session, onSignOut) => <PortalShell session={session} onSignOut={onSignOut} />}
    </SignInGate>
  );
}

function PortalShell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t } = useI18n();
  const { path, query, navigate } = useRoute();
  const api = useMemo(() => apiClients(() => session.accessToken), [session]);
  const [cover, setCover] = useState<Cover | null>(null);

  const reloadCover = useCallback(() => {
    // a customer with more sites than a page would need the sites page to page: none has yet
    void api.contracts.GET("/customer/cover", { params: { query: { limit: 200 } } }).then(({ data, response }) => {
      if (response.status === 401) onSignOut();
      if (data) setCover(data);
    });
  }, [api, onSignOut]);
  useEffect(() => {
    if (session.role === "customer") reloadCover();
  }, [reloadCover, session]);

  const portal = useMemo(
    () => ({ api, session, cover, reloadCover, navigate, onUnauthorised: onSignOut }),
    [api, session, cover, reloadCover, navigate, onSignOut],
  );

  const [section, id] = path.split("/");
  let page;
  if (session.role !== "customer") page = <p role="alert">{t("customersOnly")}</p>;
  else if (section === "new") page = <NewRequest siteId={query.get("site")} unitId={query.get("unit")} />;
  else if (section === "requests" && id) page = <TrackPage key={id} requestId={id} />;
  else if (section === "visits" && id) page = <VisitPage key={id} visitId={id} />;
  else if (section === "sites") page = <SitesPage />;
  else if (section === "history") page = <HistoryPage />;
  else page = <RequestsPage />;

  const tab = (to: string, label: string, active: boolean) => (
    <a {...linkProps(to, navigate)} aria-current={active ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <PortalContext.Provider value={portal}>
      <div className="portal">
        <header className="bar">
          <h1>{t("title")}</h1>
          <LocaleSwitch />
          <button type="button" className="link" onClick={onSignOut}>
            {t("signOut")}
          </button>
        </header>
        <main>{page}</main>
        <nav className="tabs" aria-label="Portal">
          {tab("", t("navRequests"), section === "" || section === "requests")}
          {tab("new", t("navNew"), section === "new")}
          {tab("sites", t("navSites"), section === "sites")}
          {tab("history", t("navHistory"), section === "history")}
        </nav>
      </div>
    </PortalContext.Provider>
  );
}
