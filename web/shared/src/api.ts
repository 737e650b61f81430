import createClient, { type Middleware } from "openapi-fetch";
import type { paths as ContractsPaths } from "./api/contracts";
import type { paths as DispatchPaths } from "./api/dispatch";
import type { paths as NotifyPaths } from "./api/notify";
import type { paths as RequestsPaths } from "./api/requests";

export type { components as ContractsComponents } from "./api/contracts";
export type { components as DispatchComponents } from "./api/dispatch";
export type { components as RequestsComponents } from "./api/requests";

/** An RFC 9457 problem as the services answer it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
}

function bearer(token: () => string | null): Middleware {
  return {
    onRequest({ request }) {
      const value = token();
      if (value) request.headers.set("Authorization", `Bearer ${value}`);
      return request;
    },
  };
}

/** Typed clients of the four services, through the one origin's /api/<service>/. */
export function apiClients(token: () => string | null) {
  const make = <P extends {}>(service: string) => {
    const client = createClient<P>({ baseUrl: `${location.origin}/api/${service}` });
    client.use(bearer(token));
    return client;
  };
  return {
    dispatch: make<DispatchPaths>("dispatch"),
    contracts: make<ContractsPaths>("contracts"),
    requests: make<RequestsPaths>("requests"),
    notify: make<NotifyPaths>("notify"),
  };
}

export type ApiClients = ReturnType<typeof apiClients>;
