// The scanner's link to the server, and what it does without one.
//
// Online, a scan goes to the server (3 s at most) and the snapshot is kept
// up to date (a delta every 20 s, and after each upload). The scanner goes
// offline when a scan gets no answer within 3 s, or when two requests in a
// row fail; then it decides on the phone (decide.js) and keeps each scan
// in the queue. It tries the server every 5 s; when it answers, the queue
// is sent in order (the scans made meanwhile wait behind it) and then it
// is online again.
import { api, nonce, ApiError } from './api.js';
import { Snapshot } from './snapshot.js';
import { Queue } from './queue.js';
import { decideOffline } from './decide.js';

export const SCAN_TIMEOUT = 3000;
const SYNC_EVERY = 20000;
const PROBE_EVERY = 5000;
const RETRY_AFTER = 1500;
const SYNC_TIMEOUT = 30000;
const PROBE_TIMEOUT = 8000;
const UPLOAD_TIMEOUT = 15000;

/** A failure of the network or the server (not of the request). */
export function isNetworkError(e) {
  return e instanceof ApiError && (e.status === 0 || e.status >= 500);
}

export class Link {
  /**
   * conf: {event: {uuid}, list: {uuid} | null}. onChange(link) when the
   * mode, the queue or the snapshot changes; onUnpaired(error).
   */
  constructor(conf, { onChange, onUnpaired } = {}) {
    this.eventUUID = conf.event.uuid;
    this.snap = new Snapshot(conf.event.uuid, conf.list ? conf.list.uuid : '');
    this.queue = new Queue();
    this.mode = 'online'; // online | offline | sending
    this.failures = 0; // requests failed in a row
    this.onChange = onChange || (() => {});
    this.onUnpaired = onUnpaired || (() => {});
    this.timer = 0;
    this.running = null;
    this.stopped = false;
    this.lastSent = 0; // scans sent by the last upload
    this.lastError = '';
  }

  async start() {
    try {
      await this.snap.load();
      await this.queue.load();
      this.snap.replay(this.queue.items);
    } catch (e) {
      this.lastError = `This browser keeps nothing offline: ${e.message}`;
    }
    if (this.queue.length || navigator.onLine === false) this.mode = 'offline';
    addEventListener('offline', () => this.goOffline());
    addEventListener('online', () => this.tick());
    this.onChange(this);
    this.tick();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  setMode(m) {
    if (this.mode === m) return;
    this.mode = m;
    this.onChange(this);
  }

  goOffline() {
    this.failures = Math.max(this.failures, 2);
    this.setMode('offline');
  }

  failed(e) {
    this.lastError = e.message;
    if (++this.failures >= 2) this.setMode('offline');
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.tick(), ms);
  }

  /**
   * One round with the server: send the waiting scans, then bring the
   * snapshot up to date. Never two at once; a call during one runs
   * another after it.
   */
  tick() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    clearTimeout(this.timer);
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
      // Online: the next delta in 20 s. A first failure is tried again
      // soon (the second makes it offline); offline, a probe every 5 s.
      this.schedule(this.mode !== 'online' ? PROBE_EVERY : this.failures ? RETRY_AFTER : SYNC_EVERY);
    });
    return this.running;
  }

  async round() {
    try {
      if (this.queue.length) {
        // Send in order; offline, first see if the server answers (a
        // probe that also brings the snapshot up to date).
        if (this.mode === 'offline') {
          await this.snap.sync(this.syncTimeout());
          this.failures = 0;
          this.lastError = '';
        }
        this.setMode('sending');
        try {
          this.lastSent = await this.queue.upload(this.eventUUID, this.snap.offset, (it, res) => this.confirmed(it, res), UPLOAD_TIMEOUT);
        } finally {
          await this.snap.keepRecent().catch(() => {});
          this.snap.replay(this.queue.items);
        }
        this.onChange(this);
      }
      await this.snap.sync(this.syncTimeout());
      this.snap.replay(this.queue.items);
      this.failures = 0;
      this.lastError = '';
      this.setMode(this.queue.length ? 'sending' : 'online');
      if (this.queue.length) this.again = true;
      this.onChange(this);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || (e.status === 403 && /archived/i.test(e.message)))) {
        this.stop();
        this.onUnpaired(e);
        return;
      }
      if (isNetworkError(e)) {
        this.failed(e);
        if (this.mode === 'sending') this.setMode('offline');
      } else {
        // The server answered, but not what we can use (a server without
        // the offline API, a list it refuses): online, no snapshot.
        this.failures = 0;
        this.lastError = e.message;
        if (!this.queue.length) this.setMode('online');
      }
      this.onChange(this);
    }
  }

  /**
   * How long a sync may take: a first snapshot may be large; offline, a
   * delta is a probe, and a network that swallows requests must not keep
   * the scanner from coming back for long.
   */
  syncTimeout() {
    return this.mode !== 'online' && this.snap.ready ? PROBE_TIMEOUT : SYNC_TIMEOUT;
  }

  /** The server's answer about a queued scan. */
  confirmed(it, res) {
    if (res.status !== 'rejected') this.snap.noteResult(it.uuid, it.type, res.result === 'ok', false);
  }

  /** Whether a scan goes to the server now. */
  get online() { return this.mode === 'online' && !this.queue.length; }

  /**
   * Check a code: on the server when online, else (or when the server
   * does not answer) on the phone. Resolves to {answer, local, decision};
   * answer is shaped as the API's scan result. Rejects with an ApiError the
   * server gave (not paired, a bad request).
   */
  async scan(code, type, list) {
    const n = nonce();
    const deviceTime = new Date().toISOString();
    if (this.online) {
      try {
        const r = await api('POST', `/events/${this.eventUUID}/scans`, { code, type, list, nonce: n, scanned_at: deviceTime }, { timeout: SCAN_TIMEOUT });
        this.failures = 0;
        if (r.ticket && r.ticket.uuid) this.snap.noteResult(r.ticket.uuid.replaceAll('-', '').toLowerCase(), type, r.result === 'ok').catch(() => {});
        return { answer: r, local: false };
      } catch (e) {
        if (!isNetworkError(e)) throw e;
        // No answer: decided here, and sent later with the same nonce (if
        // the server did record it, the upload records nothing twice).
        if (e.timedOut) this.goOffline();
        else this.failed(e);
        this.tick();
      }
    }
    return this.local(code, type, list, n, deviceTime);
  }

  async local(code, type, list, n, deviceTime) {
    if (!this.snap.ready) {
      return { answer: null, local: true, decision: null };
    }
    const at = Date.parse(deviceTime) + this.snap.offset;
    const d = await decideOffline(this.snap, code, type, at);
    const item = { nonce: n, code, type, list: this.snap.list.uuid || list, device_time: deviceTime, verdict: d.verdict, uuid: d.uuid };
    this.snap.overlayScan(item);
    try {
      await this.queue.add(item);
    } catch (e) {
      // Not kept: the scan was decided, it cannot be sent later.
      this.lastError = `Not kept for the server: ${e.message}`;
    }
    this.onChange(this);
    return { answer: answerOf(this.snap, d, type), local: true, decision: d };
  }
}

/** A local decision as the API's scan result (for words.js describe). */
function answerOf(snap, d, type) {
  const c = d.cls;
  const ticket = c ? { product: snap.productName(c.product), section: snap.sectionName(c.section) || null } : null;
  const r = { result: d.verdict === 'ok' ? 'ok' : 'refused', reason: d.verdict === 'ok' ? null : d.verdict, ticket, offline: true };
  if (d.plain) r.reason = 'online_only';
  if (d.unknown && d.verdict === 'ok') {
    r.attention = true;
    r.message = 'A genuine code this phone does not know: admitted offline (the list allows it). Check the ticket.';
  }
  if ((d.verdict === 'already_inside' || d.verdict === 'already_used') && d.state) {
    if (d.state.since) r.first_entry = { at: d.state.since, device: 'this phone' };
    else r.message = d.verdict === 'already_inside' ? 'Inside, as of the last update of this phone.' : 'Entered before, as of the last update of this phone.';
  }
  if (type === 'exit' && d.verdict === 'ok') r.ticket = ticket;
  return r;
}
