import { useEffect, useState } from "react";

/** Pictures the APIs serve behind a bearer token (an <img src> could not send it), fetched once each and shown as
 * object URLs: id -> URL, filled in as they arrive; revoked when the list or the token changes. `base` is the
 * API's path on this origin (e.g. "/api/dispatch"), each picture's `url` relative to it. */
export function usePictures(base: string, pictures: { id: string; url: string }[], token: string): Record<string, string> {
  const [shown, setShown] = useState<Record<string, string>>({});
  const key = pictures.map((p) => p.id).join(",");
  useEffect(() => {
    let gone = false;
    const made: string[] = [];
    setShown({});
    void (async () => {
      for (const picture of pictures) {
        const response = await fetch(`${location.origin}${base}/${picture.url}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        if (!response.ok || gone) continue;
        const url = URL.createObjectURL(await response.blob());
        made.push(url);
        setShown((all) => ({ ...all, [picture.id]: url }));
      }
    })();
    return () => {
      gone = true;
      made.forEach((url) => URL.revokeObjectURL(url));
    };
    // the pictures are named by their ids: a new array with the same ids is the same list
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [base, key, token]);
  return shown;
}

/** Sends a picture the app made (a compressed JPEG) to an upload route of this origin's APIs, e.g.
 * "/api/dispatch/me/photo"; the route's id in the path makes a repeat store it once. */
export function putPicture(path: string, token: string, picture: Blob): Promise<Response> {
  return fetch(`${location.origin}${path}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": picture.type || "image/jpeg" },
    body: picture,
  });
}
