// The scans waiting for the server: every scan decided on the phone, kept
// in IndexedDB in the order it was made until the server has confirmed it
// (POST /api/v1/events/{event}/scans/offline: "recorded" or "duplicate").
// Each carries its nonce, so that sending it again records nothing twice.
import { api } from './api.js';
import * as idb from './idb.js';

export const BATCH = 200; // scans per upload (the API takes 500 at most)

export class Queue {
  constructor() {
    this.items = []; // in order, as in IndexedDB (with their seq)
    this.rejected = []; // {item, error}: refused by the server, dropped
    this.counts = { recorded: 0, duplicate: 0, rejected: 0 }; // the server's answers so far
  }

  get length() { return this.items.length; }

  async load() {
    this.items = await idb.all('queue');
  }

  /** Keep a scan; resolves once it is in IndexedDB. */
  async add(item) {
    const seq = await idb.enqueue(item);
    this.items.push({ ...item, seq });
  }

  /**
   * Send the waiting scans in order, in batches, until none is left.
   * onResult(item, result) for each confirmed scan (before it is dropped).
   * Rejects with the API's error on a failure of the network or the
   * server: what was confirmed is dropped, the rest waits.
   */
  async upload(eventUUID, offsetMs, onResult, timeout) {
    let sent = 0;
    while (this.items.length) {
      const batch = this.items.slice(0, BATCH);
      let r;
      try {
        r = await api('POST', `/events/${eventUUID}/scans/offline`, {
          clock_offset_ms: Math.round(offsetMs || 0),
          scans: batch.map((it) => ({ nonce: it.nonce, code: it.code, type: it.type, list: it.list || undefined, device_time: it.device_time, verdict: it.verdict })),
        }, { timeout });
      } catch (e) {
        // The whole batch refused (400, 413, 422): something in it the
        // server cannot take. Send the scans one by one, so that only that
        // one is dropped (with its error, shown); the others are kept.
        if (e.status === 400 || e.status === 413 || e.status === 422) {
          if (batch.length === 1) {
            await this.drop(batch, [{ status: 'rejected', error: e.message }], onResult);
            continue;
          }
          sent += await this.uploadOneByOne(eventUUID, offsetMs, onResult, timeout, batch.length);
          continue;
        }
        throw e;
      }
      await this.drop(batch, r.results || [], onResult);
      sent += batch.length;
    }
    return sent;
  }

  async uploadOneByOne(eventUUID, offsetMs, onResult, timeout, n) {
    let sent = 0;
    for (let i = 0; i < n && this.items.length; i++) {
      const it = this.items[0];
      let results;
      try {
        const r = await api('POST', `/events/${eventUUID}/scans/offline`, {
          clock_offset_ms: Math.round(offsetMs || 0),
          scans: [{ nonce: it.nonce, code: it.code, type: it.type, list: it.list || undefined, device_time: it.device_time, verdict: it.verdict }],
        }, { timeout });
        results = r.results || [];
      } catch (e) {
        if (e.status === 400 || e.status === 413 || e.status === 422) results = [{ status: 'rejected', error: e.message }];
        else throw e;
      }
      await this.drop([it], results, onResult);
      sent++;
    }
    return sent;
  }

  /** Drop the confirmed (and the rejected) scans of a batch. */
  async drop(batch, results, onResult) {
    const done = [];
    for (const [i, it] of batch.entries()) {
      const res = results[i] && (results[i].nonce === undefined || results[i].nonce === it.nonce)
        ? results[i] : results.find((x) => x.nonce === it.nonce);
      if (!res) continue; // no answer for it: it waits for the next upload
      if (res.status === 'rejected') this.rejected.push({ item: it, error: res.error || 'refused by the server' });
      if (res.status in this.counts) this.counts[res.status]++;
      await onResult(it, res);
      done.push(it.seq);
    }
    if (!done.length) throw new Error('The server confirmed none of the scans sent.');
    await idb.dequeue(done);
    const gone = new Set(done);
    this.items = this.items.filter((it) => !gone.has(it.seq));
  }
}
