// The snapshot of the scanner's list, kept in IndexedDB for deciding
// offline: the event's keys, the list's rules, each ticket's class (what
// the decision needs: product, section, date, status, blocked, validity
// window) and who is inside, brought up to date by deltas since a cursor
// (GET /api/v1/events/{event}/offline; the format is in OFFLINE.md and the
// OpenAPI document).
//
// Presence is two layers: the base (what the server said: the snapshot,
// its deltas, and the answers to this phone's scans) and the phone's own
// scans not yet confirmed (the queue), replayed on top.
import { api, qs } from './api.js';
import * as idb from './idb.js';

const UUID_LEN = 32;

/** The uuids of a concatenated string. */
function* uuids(s) {
  for (let i = 0; i + UUID_LEN <= (s || '').length; i += UUID_LEN) yield s.slice(i, i + UUID_LEN);
}

function time(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return isNaN(t) ? null : t;
}

function classKey(c) {
  return [c.product, c.section || 0, c.subevent || 0, c.status, !!c.blocked, c.valid_from || '', c.valid_until || ''].join('|');
}

export class Snapshot {
  constructor(eventUUID, listUUID) {
    this.eventUUID = eventUUID;
    this.listUUID = listUUID || '';
    this.meta = null; // {cursor, event, list, products, sections, syncedAt, serverTime}
    this.classes = []; // [{product, section, subevent, status, blocked, from, until, key}]
    this.classIndex = new Map(); // class key → index
    this.tickets = new Map(); // uuid → class index
    this.inside = new Set();
    this.used = new Set();
    this.overlay = new Map(); // uuid → {inside, entered, since}: the queue's scans
    this.recent = []; // [uuid, type] of results since the presence was saved
    this.offset = 0; // server clock minus this device's (ms)
    this.dirty = { tickets: false, presence: false };
  }

  get ready() { return !!this.meta; }
  get event() { return this.meta.event; }
  get list() { return this.meta.list; }
  get size() { return this.tickets.size; }

  /** The class of a ticket (compact uuid), or null. */
  classOf(uuid) {
    const i = this.tickets.get(uuid);
    return i === undefined ? null : this.classes[i];
  }

  /** A ticket's state on the list: {inside, entered, since, local}. */
  stateOf(uuid) {
    const o = this.overlay.get(uuid);
    if (o) return { ...o, local: true };
    const inside = this.inside.has(uuid);
    return { inside, entered: inside || this.used.has(uuid), since: null, local: false };
  }

  productName(id) { return (this.meta.products || {})[id] || ''; }
  sectionName(id) { return id ? (this.meta.sections || {})[id] || '' : ''; }

  // --- Applying the server's answers --------------------------------------

  addClass(c) {
    const cls = {
      product: c.product, section: c.section || 0, subevent: c.subevent || 0, status: c.status, blocked: !!c.blocked,
      from: time(c.valid_from), until: time(c.valid_until), valid_from: c.valid_from || null, valid_until: c.valid_until || null,
    };
    cls.key = classKey(cls);
    let i = this.classIndex.get(cls.key);
    if (i === undefined) {
      i = this.classes.length;
      this.classes.push(cls);
      this.classIndex.set(cls.key, i);
    }
    return i;
  }

  /** Apply a full snapshot or a delta (idempotent: sets, never toggles). */
  apply(r) {
    if (r.full) {
      this.classes = [];
      this.classIndex = new Map();
      this.tickets = new Map();
      this.inside = new Set();
      this.used = new Set();
    }
    const map = (r.classes || []).map((c) => this.addClass(c));
    (r.tickets || []).forEach((s, i) => {
      for (const u of uuids(s)) this.tickets.set(u, map[i]);
    });
    for (const u of uuids(r.outside)) this.inside.delete(u);
    for (const u of uuids(r.inside)) { this.inside.add(u); this.used.delete(u); }
    for (const u of uuids(r.used)) if (!this.inside.has(u)) this.used.add(u);
    this.dirty.tickets = this.dirty.tickets || r.full || map.length > 0;
    this.dirty.presence = true;
    this.meta = {
      cursor: r.cursor, event: r.event, list: r.list, products: r.products || {}, sections: r.sections || {},
      serverTime: r.server_time, syncedAt: Date.now(),
    };
  }

  /**
   * The server's answer about one of this phone's scans: its effect on
   * the base, kept at once (a short list, folded into the presence at the
   * next save) so that a reload offline still knows it.
   */
  async noteResult(uuid, type, ok, keep = true) {
    if (!uuid || !ok || !this.meta) return;
    this.applyResult(uuid, type, ok);
    this.recent.push([uuid, type]);
    if (keep) await this.keepRecent();
  }

  /** Write the results noted since the presence was saved. */
  async keepRecent() {
    await idb.putKV([[this.key('recent'), this.recent]]);
  }

  applyResult(uuid, type, ok) {
    if (!uuid || !ok) return;
    if (type === 'exit') {
      if (this.inside.delete(uuid)) this.used.add(uuid);
    } else {
      this.inside.add(uuid);
      this.used.delete(uuid);
    }
    this.dirty.presence = true;
  }

  /** Rebuild the overlay from the queue's scans, in order. */
  replay(items) {
    this.overlay = new Map();
    for (const it of items) this.overlayScan(it);
  }

  /** One queued scan on the overlay. */
  overlayScan(it) {
    if (!it.uuid || it.verdict !== 'ok') return;
    const st = this.stateOf(it.uuid);
    if (it.type === 'exit') this.overlay.set(it.uuid, { inside: false, entered: st.entered, since: st.since });
    else this.overlay.set(it.uuid, { inside: true, entered: true, since: st.inside ? st.since : it.device_time });
  }

  // --- The server ----------------------------------------------------------

  /**
   * Fetch the snapshot (a delta when there is a cursor) and apply it;
   * measure the clock offset (the server's time minus this device's at
   * the middle of the request). Rejects with the API's error.
   */
  async sync(timeout) {
    const t0 = Date.now();
    let t1 = 0;
    const path = `/events/${this.eventUUID}/offline` + qs({ list: this.listUUID, cursor: this.meta ? this.meta.cursor : '' });
    const r = await api('GET', path, undefined, { timeout, onHeaders: () => { t1 = Date.now(); } });
    const st = time(r.server_time);
    if (st !== null) this.offset = Math.round(st - (t0 + (t1 || Date.now())) / 2);
    if (r.format !== 1) throw new Error(`Unknown snapshot format ${r.format}`);
    this.apply(r);
    await this.save();
    return r;
  }

  // --- IndexedDB ---------------------------------------------------------------

  key(part) { return `snap:${this.eventUUID}:${this.listUUID}:${part}`; }

  /** Write what changed. */
  async save() {
    const entries = [[this.key('meta'), { ...this.meta, classes: this.classes, offset: this.offset }]];
    if (this.dirty.tickets) {
      const per = this.classes.map(() => []);
      for (const [u, i] of this.tickets) per[i].push(u);
      entries.push([this.key('tickets'), per.map((a) => a.join(''))]);
    }
    if (this.dirty.presence) {
      entries.push([this.key('presence'), { inside: [...this.inside].join(''), used: [...this.used].join('') }]);
      entries.push([this.key('recent'), undefined]);
      this.recent = [];
    }
    await idb.putKV(entries);
    this.dirty = { tickets: false, presence: false };
  }

  /** Read the snapshot kept for this event and list, if any. */
  async load() {
    const meta = await idb.get('kv', this.key('meta'));
    if (!meta) return false;
    const [tickets, presence, recent] = await Promise.all(['tickets', 'presence', 'recent'].map((p) => idb.get('kv', this.key(p))));
    const { classes, offset, ...m } = meta;
    this.classes = [];
    this.classIndex = new Map();
    for (const c of classes || []) this.addClass(c);
    this.tickets = new Map();
    (tickets || []).forEach((s, i) => { for (const u of uuids(s)) this.tickets.set(u, i); });
    this.inside = new Set(uuids(presence && presence.inside));
    this.used = new Set(uuids(presence && presence.used));
    this.offset = offset || 0;
    this.meta = m;
    this.recent = recent || [];
    for (const [u, type] of this.recent) this.applyResult(u, type, true);
    return true;
  }

  /** Forget every snapshot (another device paired on this phone). */
  static async forgetAll() {
    await idb.clear('kv');
  }
}
