import imageCompression from "browser-image-compression";

// Its own entry point ("@fieldline/shared/compress"): only the apps that take photos bundle the library.

/** The most a compressed photo may weigh before the apps refuse it themselves: under the services' cap
 * (FIELDLINE_<SERVICE>_ATTACHMENT_MAX_BYTES, 1.5 MB). */
export const PHOTO_MAX_BYTES = 1_400_000;

/** What a phone photo is made into before it is sent: a JPEG of at most 1600 px a side, about 0.4 MB, well under
 * the services' cap (attachment_max_bytes, 1.5 MB). In the page's own thread: the library's worker would load
 * its script from a CDN, which the apps never use. */
export function compressPhoto(file: File): Promise<Blob> {
  return imageCompression(file, { maxSizeMB: 0.4, maxWidthOrHeight: 1600, useWebWorker: false, fileType: "image/jpeg" });
}
