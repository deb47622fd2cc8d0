// Query strings as phoenix.js writes them: nested objects in bracket form
// (`user[id]=7`), keys and values URI-encoded, params before `vsn`.

function serialize(params, parentKey) {
  const parts = [];
  for (const key of Object.keys(params)) {
    const value = params[key];
    const name = parentKey ? `${parentKey}[${key}]` : key;
    if (value !== null && typeof value === "object") {
      const nested = serialize(value, name);
      if (nested) parts.push(nested);
    } else if (value !== undefined && value !== null) {
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    }
  }
  return parts.join("&");
}

/** `url` with `params` appended as a query string (`?` or `&`). */
export function appendParams(url, params) {
  const query = params ? serialize(params) : "";
  if (!query) return url;
  return `${url}${url.includes("?") ? "&" : "?"}${query}`;
}
