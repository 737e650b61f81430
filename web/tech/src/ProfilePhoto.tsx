import { useState } from "react";
import { putPicture, useI18n, usePictures } from "@fieldline/shared";
import { compressPhoto, PHOTO_MAX_BYTES } from "@fieldline/shared/compress";

/** The technician's own photo, which the customers they visit see beside their first name: taken or chosen on
 * the phone, compressed, and sent at once (it needs the network; nothing about the day waits for it). */
export function ProfilePhoto({ token }: { token: string }) {
  const { t } = useI18n();
  const [version, setVersion] = useState(0); // a new photo is read again under a new id
  const [problem, setProblem] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const shown = usePictures("/api/dispatch", [{ id: `me-${version}`, url: "me/photo" }], token)[`me-${version}`];

  const choose = async (files: FileList | null) => {
    const file = files?.[0];
    if (!file) return;
    setProblem(null);
    setSending(true);
    try {
      const blob = await compressPhoto(file);
      if (blob.size > PHOTO_MAX_BYTES) return setProblem(t("photoTooBig"));
      const response = await putPicture("/api/dispatch/me/photo", token, blob);
      if (!response.ok) return setProblem(t("photoNotSaved", { status: response.status }));
      setVersion((v) => v + 1);
    } catch {
      setProblem(t("photoNeedsNetwork"));
    } finally {
      setSending(false);
    }
  };

  return (
    <div className="profile-photo">
      {shown && <img src={shown} alt={t("myPhoto")} data-testid="my-photo" />}
      <label className="button">
        {sending ? t("sending") : shown ? t("changeMyPhoto") : t("addMyPhoto")}
        <input
          type="file"
          accept="image/jpeg,image/png,image/webp"
          capture="user"
          data-testid="my-photo-input"
          hidden
          disabled={sending}
          onChange={(e) => void choose(e.target.files).then(() => (e.target.value = ""))}
        />
      </label>
      {problem && <small role="alert">{problem}</small>}
    </div>
  );
}
