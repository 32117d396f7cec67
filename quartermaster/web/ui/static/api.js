// The API, called with the token as a Bearer header: the only place the token is read.
// The token lives in this tab's sessionStorage; never in a URL, a cookie or a log.

const TOKEN_KEY = "quartermaster.token";
const IDENTITY_KEY = "quartermaster.identity"; // /whoami's answer for the token: no secret
// The API is served by the same server, above the dashboard's /ui/.
const API_ROOT = new URL("../", document.baseURI);

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  logIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.removeItem(IDENTITY_KEY);
  },
  logOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(IDENTITY_KEY);
  },
  // Who the token is (/whoami): the operator, or a tenant's key with its rights and policy.
  get identity() {
    const kept = sessionStorage.getItem(IDENTITY_KEY);
    return kept ? JSON.parse(kept) : null;
  },
  set identity(answer) {
    sessionStorage.setItem(IDENTITY_KEY, JSON.stringify(answer));
  },
  // Whether the token may do this: "read", "run", "stop", "keys", "dispatch", "templates", or
  // "operator".
  may(what) {
    const who = this.identity;
    if (!who) return false;
    if (who.operator) return true;
    return what !== "operator" && who.rights.includes(what);
  },
};

// An error answer in the API's shape: {code, error, fields?, request_id?}.
export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.error === "string" ? body.error : `HTTP ${status}`);
    this.status = status;
    this.fields = body && typeof body.fields === "object" ? body.fields : null;
    this.requestId = body && typeof body.request_id === "string" ? body.request_id : null;
  }
}

// Fired when the server refuses the token: the app goes back to the login form.
export const UNAUTHORIZED = "qm:unauthorized";

export function apiUrl(path, params = {}) {
  const url = new URL(path.replace(/^\//, ""), API_ROOT);
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== "") url.searchParams.append(name, item);
    }
  }
  return url;
}

async function send(path, { method = "GET", params, body, headers = {}, signal } = {}) {
  const token = session.token;
  const response = await fetch(apiUrl(path, params), {
    method,
    headers: {
      ...headers,
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
    credentials: "omit",
  });
  if (response.ok || response.status === 304) return response; // 304: see getJsonIfChanged
  let document = null;
  try {
    document = await response.json();
  } catch {
    // not JSON: a proxy's own page; the status says enough
  }
  const error = new ApiError(response.status, document);
  if (response.status === 401) {
    session.logOut();
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED, { detail: error.message }));
  }
  throw error;
}

export async function getJson(path, params, signal) {
  return (await send(path, { params, signal })).json();
}

// A JSON answer fetched again only if it changed (an ETag sent back as If-None-Match: while
// nothing changed, the server answers 304 without asking the swarm). `known` is the last
// {tag, body} (or null); the current one is returned, `known` itself when nothing changed.
export async function getJsonIfChanged(path, params, known, signal) {
  const headers = known && known.tag ? { "If-None-Match": known.tag } : {};
  const response = await send(path, { params, headers, signal });
  if (response.status === 304 && known) return known;
  return { tag: response.headers.get("ETag"), body: await response.json() };
}

export async function postJson(path, body, headers = {}) {
  return (await send(path, { method: "POST", body, headers })).json();
}

export async function patchJson(path, body) {
  return (await send(path, { method: "PATCH", body })).json();
}

// A text answer read as it arrives (a followed log): `onText` gets each decoded piece.
export async function streamText(path, params, onText, signal) {
  const response = await send(path, { params, signal });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onText(decoder.decode(value, { stream: true }));
  }
  const rest = decoder.decode();
  if (rest) onText(rest);
}

// A fresh Idempotency-Key (crypto.randomUUID needs a secure context; this does not).
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "ui-" + Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export const FINAL_STATUSES = new Set(["complete", "failed", "rejected", "shutdown", "lost"]);
export const STATUSES = ["queued", "pending", "started", "complete", "failed", "rejected", "shutdown", "lost"];
