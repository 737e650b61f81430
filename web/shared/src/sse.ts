/** Server-sent events read with fetch, so the token goes in the Authorization header (EventSource can't send it). */
export interface StreamEvent {
  id: string | null;
  event: string;
  data: string;
}

export function followStream(
  url: string,
  token: () => string | null,
  onEvent: (event: StreamEvent) => void,
  onState?: (connected: boolean) => void,
): () => void {
  const abort = new AbortController();
  let lastEventId: string | null = null;

  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const value = token();
        if (value) headers.Authorization = `Bearer ${value}`;
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch(url, { headers, signal: abort.signal });
        if (!response.ok || !response.body) throw new Error(`stream: ${response.status}`);
        onState?.(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value: chunk, done } = await reader.read();
          if (done) break;
          buffer += chunk.replaceAll("\r\n", "\n");
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event: StreamEvent = { id: null, event: "message", data: "" };
            const data: string[] = [];
            for (const line of frame.split("\n")) {
              if (line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "id") event.id = text;
              else if (field === "event") event.event = text;
              else if (field === "data") data.push(text);
            }
            if (event.id) lastEventId = event.id;
            if (data.length) onEvent({ ...event, data: data.join("\n") });
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      onState?.(false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void run();
  return () => abort.abort();
}
