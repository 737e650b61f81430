import { useCallback, useEffect, useState, type MouseEvent } from "react";

export const APP_PATH = "/portal/";

/** The portal's own path (after /portal/) and a way to move within it without reloading the page. */
export function useRoute(): { path: string; query: URLSearchParams; navigate: (to: string) => void } {
  const read = () => ({ path: location.pathname.replace(/^\/portal\/?/, ""), search: location.search });
  const [where, setWhere] = useState(read);
  useEffect(() => {
    const onPop = () => setWhere(read());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    history.pushState(null, "", APP_PATH + to);
    setWhere(read());
    scrollTo(0, 0);
  }, []);
  return { path: where.path, query: new URLSearchParams(where.search), navigate };
}

/** An in-app link: a real href (open in a new tab works), a pushState on a plain click. */
export function linkProps(to: string, navigate: (to: string) => void) {
  return {
    href: APP_PATH + to,
    onClick: (e: MouseEvent) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
