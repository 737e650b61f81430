import { useCallback, useEffect, useRef, useState } from "react";
import { followStream, type ApiClients, type Session } from "@fieldline/shared";
import type { Board } from "./board";
import { applyFrame, keepUnchanged, type Frame } from "./live";

/** How long after a frame that needs it the board is read again (frames within it share the one read). */
const RECONCILE_MS = 400;

/** The board on screen, kept live: each frame of the dispatchers' stream is drawn at once from what it carries
 * (a new job, a booking moved, a status step, a technician's position), and a read of `GET /board` follows the
 * frames that change more than they say. Frames that arrive while a read is under way are applied again on top of
 * its answer, so a read asked before them never takes them back off the screen. */
export function useLiveBoard(api: ApiClients, session: Session, onSignOut: () => void) {
  const [board, setBoard] = useState<Board | null>(null);
  const [live, setLive] = useState(false);
  const shown = useRef<Board | null>(null);
  const reading = useRef<Frame[] | null>(null); // the frames since the read under way was asked
  const inFlight = useRef<Promise<void> | null>(null);
  const queued = useRef<Promise<void> | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const show = useCallback((next: Board) => {
    shown.current = next;
    setBoard(next);
  }, []);

  // One read at a time; asked for while one is under way, one more follows it (that read may predate the change),
  // and every caller meanwhile waits for that same follow-up.
  const reload = useCallback((): Promise<void> => {
    if (inFlight.current) {
      queued.current ??= inFlight.current.then(() => {
        queued.current = null;
        return reload();
      });
      return queued.current;
    }
    const frames: Frame[] = [];
    reading.current = frames;
    const read = (async () => {
      const { data, response } = await api.dispatch.GET("/board");
      if (response.status === 401) onSignOut();
      if (data) {
        const now = Date.now();
        show(keepUnchanged(shown.current, frames.reduce((b, frame) => applyFrame(b, frame, now).board, data)));
      }
    })().finally(() => {
      reading.current = null;
      inFlight.current = null;
    });
    inFlight.current = read;
    return read;
  }, [api, onSignOut, show]);

  useEffect(() => {
    const reconcile = () => {
      if (timer.current === null) timer.current = setTimeout(() => ((timer.current = null), void reload()), RECONCILE_MS);
    };
    void reload();
    const stop = followStream(
      `${location.origin}/api/notify/streams/me`,
      () => session.accessToken,
      (frame) => {
        reading.current?.push(frame);
        const current = shown.current;
        if (!current) return reconcile();
        const applied = applyFrame(current, frame, Date.now());
        if (applied.board !== current) show(applied.board);
        if (!applied.complete) reconcile();
      },
      (connected) => {
        setLive(connected);
        if (connected) void reload(); // whatever happened while the stream was down
      },
    );
    return () => {
      stop();
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [reload, session, show]);

  return { board, live, reload };
}
