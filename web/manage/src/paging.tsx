import { useCallback, useEffect, useState } from "react";
import { useI18n } from "@fieldline/shared";
import { PAGE_SIZE, useWorkspace } from "./api";

/** A server-side searched and paged list: the search text, the page shown, and a reload after a change. */
export function usePagedSearch<T>(fetchPage: (q: string, offset: number) => Promise<T[]>) {
  const { fail } = useWorkspace();
  const [q, setQ] = useState("");
  const [offset, setOffset] = useState(0);
  const [items, setItems] = useState<T[] | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let cancelled = false;
    // typing waits a moment so a search over tens of thousands of rows runs once per pause, not per key
    const timer = setTimeout(() => {
      fetchPage(q.trim(), offset)
        .then((page) => !cancelled && setItems(page))
        .catch(fail);
    }, 200);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [fetchPage, q, offset, version, fail]);

  const search = useCallback((text: string) => {
    setQ(text);
    setOffset(0);
  }, []);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { q, search, offset, setOffset, items, reload };
}

export function SearchBox({ value, onChange, label }: { value: string; onChange: (q: string) => void; label: string }) {
  return <input type="search" className="search" aria-label={label} placeholder={label} value={value} onChange={(e) => onChange(e.target.value)} />;
}

export function Pager({ offset, count, onOffset }: { offset: number; count: number; onOffset: (offset: number) => void }) {
  const { t } = useI18n();
  return (
    <div className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE_SIZE))}>
        ← {t("previous")}
      </button>
      <span>{t("rows", { from: count ? offset + 1 : 0, to: offset + count })}</span>
      <button type="button" disabled={count < PAGE_SIZE} onClick={() => onOffset(offset + PAGE_SIZE)}>
        {t("next")} →
      </button>
    </div>
  );
}
