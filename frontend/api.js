// REST helpers and a WebSocket that reconnects by itself.

/** An API error: HTTP status plus the server's message (422 details joined, field named). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const loc = (d.loc || []).filter((p) => p !== "body").join(".");
        return loc ? `${loc}: ${d.msg}` : d.msg;
      })
      .join("; ");
  }
  return JSON.stringify(detail);
}

const inflight = new Map(); // session id -> requests still open
const doomed = new Set(); // sessions waiting to be deleted

/** The session id a REST path is about, or null. */
function sessionOf(path) {
  const m = /^\/api\/sessions\/([^/?]+)/.exec(path);
  return m ? decodeURIComponent(m[1]) : null;
}

/**
 * fetch JSON; throws ApiError with the server's message on a non-2xx answer. `signal`
 * (an AbortSignal) cancels it: the server stops long work when the client goes away.
 */
export async function request(method, path, body, signal) {
  const id = sessionOf(path);
  if (id) inflight.set(id, (inflight.get(id) || 0) + 1);
  try {
    return await send(method, path, body, signal);
  } finally {
    if (id) inflight.set(id, inflight.get(id) - 1);
    if (id && !inflight.get(id)) inflight.delete(id);
  }
}

/**
 * Delete a session the page no longer shows, once its requests (data view, surface fit,
 * history) have ended, so they finish normally instead of in a 404.
 */
async function removeWhenIdle(id, settle = 400) {
  doomed.add(id);
  do {
    await new Promise((r) => setTimeout(r, settle));
  } while (inflight.get(id));
  if (!doomed.delete(id)) return null; // already sent as the page closed
  return request("DELETE", S(id));
}

// closing the page: delete what is still waiting (keepalive outlives the page)
addEventListener("pagehide", () => {
  for (const id of doomed) fetch(S(id), { method: "DELETE", keepalive: true }).catch(() => {});
  doomed.clear();
});

async function send(method, path, body, signal) {
  const init = { method, headers: {}, signal };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const message = data && data.detail !== undefined ? detailText(data.detail) : String(text);
    throw new ApiError(res.status, message || res.statusText);
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

const S = (id) => `/api/sessions/${encodeURIComponent(id)}`;

/**
 * Step session `id` from step `from` on to `target` in calls of at most `maxPerCall`
 * steps (the server's limit per call; a truncated call made fewer, so the next asks for
 * the rest), stopping early at a diverged run or the step limit. `body`: the step call's other fields; `onCall(res)` after each call.
 */
async function stepTo(id, from, target, { maxPerCall, body = {}, signal, onCall } = {}) {
  let at = from;
  while (at < target) {
    const res = await api.step(id, { ...body, steps: Math.min(target - at, maxPerCall) }, signal);
    at = res.step;
    onCall?.(res);
    if (res.status === "diverged" || res.status === "limit") break;
  }
}

/** Every REST call the page makes, one line each. */
export const api = {
  catalog: () => request("GET", "/api/catalog"),
  create: (config) => request("POST", "/api/sessions", config),
  get: (id) => request("GET", S(id)),
  remove: (id) => request("DELETE", S(id)),
  removeWhenIdle,
  patch: (id, change) => request("PATCH", S(id), change),
  step: (id, body, signal) => request("POST", `${S(id)}/step`, body, signal),
  stepTo,
  reset: (id) => request("POST", `${S(id)}/reset`),
  rewind: (id, step) => request("POST", `${S(id)}/rewind`, { step }),
  trajectory: (id, params) => request("GET", `${S(id)}/trajectory${query(params)}`),
  data: (id, resolution = 60, step = null) => request("GET", `${S(id)}/data${query({ resolution, step })}`),
  surface: (id, body, signal) => request("POST", `${S(id)}/surface`, body, signal),
  slice: (id, params) => request("GET", `${S(id)}/slice${query(params)}`),
  curvature: (id, params, signal) => request("GET", `${S(id)}/curvature${query(params)}`, undefined, signal),
  recovery: (id) => request("GET", `${S(id)}/recovery`),
  update: (id, params) => request("GET", `${S(id)}/update${query(params)}`),
  code: (id, params) => request("GET", `${S(id)}/code${query(params)}`),
  backprop: (id, step) => request("GET", `${S(id)}/backprop${query({ step })}`),
  importRun: (body, signal) => request("POST", "/api/sessions/import", body, signal),
  uploadCsv: (csv, target) => request("POST", "/api/datasets/csv", { csv, target: target || undefined }),
  exportUrl: (id, format) => `${S(id)}/export${query({ format })}`,
};

/**
 * The session's WebSocket: sends typed JSON, reconnects with backoff, and tells the
 * owner when it (re)opens so it can resume (the server's first message is a `state`).
 */
export class Stream {
  constructor(sessionId, { onMessage, onOpen, onClose, onGone }) {
    this.id = sessionId;
    this.handlers = { onMessage, onOpen, onClose, onGone };
    this.queue = [];
    this.closed = false;
    this.delay = 250;
    this.ws = null;
    this.connect();
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}${S(this.id)}/stream`);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 250;
      this.handlers.onOpen?.();
      for (const msg of this.queue.splice(0)) ws.send(JSON.stringify(msg));
    };
    ws.onmessage = (ev) => this.handlers.onMessage(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (ev.code === 4404) {
        this.closed = true;
        this.handlers.onGone?.();
        return;
      }
      this.handlers.onClose?.();
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 4000);
    };
    ws.onerror = () => {}; // onclose follows and reconnects
  }

  /** Send now, or once the socket (re)opens (a short queue; old messages drop first). */
  send(message) {
    if (this.open) {
      this.ws.send(JSON.stringify(message));
    } else {
      this.queue.push(message);
      if (this.queue.length > 20) this.queue.shift();
    }
  }

  /** Drop the connection for good (no reconnect). */
  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  /** For tests and the "connection" indicator: close the socket as if the network dropped. */
  drop() {
    if (this.ws) this.ws.close();
  }
}
