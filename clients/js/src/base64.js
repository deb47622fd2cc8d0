// Base64 without Node's Buffer, so that the same code runs in browsers.

const CHUNK = 0x8000;

/** Standard, padded base64 of bytes (binary frames over LongPoll). */
export function encodeBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/** The auth token in the subprotocol: base64 of its UTF-8 bytes, without padding. */
export function encodeToken(token) {
  return encodeBase64(new TextEncoder().encode(String(token))).replace(/=+$/, "");
}

/** Inverse of `encodeToken`. */
export function decodeToken(encoded) {
  const binary = atob(encoded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
