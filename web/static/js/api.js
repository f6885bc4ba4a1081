// admit's API (/api/v1) from the pages: JSON in and out, problem details
// as errors. The dashboard authenticates with its session cookie and sends
// the session's CSRF token (from the page's data-csrf) on every write; the
// scanner sends its device key instead.

let bearer = null;

/** Authenticate every later call with a device key (the scanner). */
export function useKey(key) { bearer = key; }

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || (status ? `The server answered ${status}.` : 'No connection to the server.'));
    this.status = status;
    this.problem = problem;
  }
}

export function headers(method, extra) {
  const h = { Accept: 'application/json', ...extra };
  if (bearer) h.Authorization = 'Bearer ' + bearer;
  else if (method !== 'GET' && method !== 'HEAD' && document.body.dataset.csrf) h['X-CSRF-Token'] = document.body.dataset.csrf;
  return h;
}

/**
 * Call the API. data: an object (sent as JSON), or {body, type} for raw
 * content. Resolves to the decoded JSON answer; rejects with ApiError.
 * timeout (ms): no whole answer by then is an ApiError of status 0 with
 * timedOut set. onHeaders(): called when the answer's headers arrive (the
 * scanner measures its clock offset with it).
 */
export async function api(method, path, data, { signal, raw, timeout, onHeaders } = {}) {
  let ctl = null;
  let timer = 0;
  let timedOut = false;
  if (timeout) {
    ctl = new AbortController();
    timer = setTimeout(() => { timedOut = true; ctl.abort(); }, timeout);
    if (signal) signal.addEventListener('abort', () => ctl.abort(), { once: true });
    signal = ctl.signal;
  }
  const init = { method, credentials: 'same-origin', signal, headers: headers(method) };
  if (data !== undefined) {
    if (raw) { init.body = data; init.headers['Content-Type'] = raw; }
    else { init.body = JSON.stringify(data); init.headers['Content-Type'] = 'application/json'; }
  }
  try {
    let res;
    try {
      res = await fetch('/api/v1' + path, init);
    } catch (e) {
      if (e.name === 'AbortError' && !timedOut) throw e;
      throw netError(timedOut);
    }
    if (onHeaders) onHeaders();
    let text;
    try {
      text = await res.text();
    } catch (e) {
      if (e.name === 'AbortError' && !timedOut) throw e;
      throw netError(timedOut);
    }
    let json = null;
    if (text) { try { json = JSON.parse(text); } catch { json = null; } }
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  } finally {
    clearTimeout(timer);
  }
}

function netError(timedOut) {
  const e = new ApiError(0, timedOut ? { detail: 'The server did not answer in time.' } : null);
  e.timedOut = timedOut;
  return e;
}

/** A query string from an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** A random nonce (uuid v4) for a scan, so that a retry is one scan. */
export function nonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
