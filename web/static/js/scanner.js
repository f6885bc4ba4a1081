// The browser scanner. Paired by opening its pairing link
// (/scanner#pair=TOKEN) or by scanning that link's QR code: it becomes a
// device of the event and list, and keeps its key in this browser. Then
// every code read (camera or keyboard wedge) is checked through admit's
// API, and the answer fills the screen: green, red with the reason, or
// amber, with a sound and a vibration. Without the network it goes on:
// a service worker keeps the page, and the phone decides on its snapshot
// of the list and keeps the scans for the server (offline.js).
import { api, useKey, ApiError } from './api.js';
import { el, $, showError } from './dom.js';
import { describe, clock } from './words.js';
import { signal, unlockAudio } from './feedback.js';
import { Camera } from './camera.js';
import { ticketItem } from './tickets.js';
import { Link } from './offline.js';
import { Snapshot } from './snapshot.js';

const STORE = 'admit.scanner.v1';
const MODE = 'admit.scanner.mode';
const SAME_CODE_MS = 3000;

const app = $('#app');
const resultNode = $('#result');
const modeBtn = $('#mode');
const cameraMsg = $('#camera-msg');

let conf = null; // {key, device, event, list, timezone}
let link = null; // the link to the server (offline.js), once ready
let mode = localStorage.getItem(MODE) === 'exit' ? 'exit' : 'entry';
const recent = new Map(); // code → when it was last read
let hideTimer = 0;
let seq = 0;

// What tests and curious people can read: the decoder in use, frames seen,
// the last code read and the last answer shown.
const debug = {
  decoder: null, frames: 0, lastCode: null, codes: [], lastResult: null, results: [], scansSent: 0,
  mode: null, waiting: 0, snapshot: null, sw: null, link: null,
};
window.admitScanner = debug;

function save() { localStorage.setItem(STORE, JSON.stringify(conf)); }

function load() {
  try {
    const c = JSON.parse(localStorage.getItem(STORE) || 'null');
    return c && c.key ? c : null;
  } catch {
    return null;
  }
}

function setState(s) { app.dataset.state = s; }

function renderHeader() {
  $('#device-name').textContent = conf ? conf.device.name : 'Scanner';
  $('#event-name').textContent = conf && conf.event ? conf.event.name + (conf.list ? ' · ' + conf.list.name : '') : 'not paired';
}

function renderMode() {
  modeBtn.dataset.mode = mode;
  modeBtn.textContent = mode === 'entry' ? 'Entry' : 'Exit';
}

// --- Result screen ---------------------------------------------------------------

function show(d, ticket, local = false) {
  clearTimeout(hideTimer);
  resultNode.dataset.tone = d.tone;
  $('#r-offline').hidden = !local;
  $('#r-title').textContent = d.title;
  $('#r-detail').textContent = d.detail || '';
  const name = ticket ? (ticket.name || [ticket.first_name, ticket.last_name].filter(Boolean).join(' ')) : '';
  $('#r-name').textContent = name;
  $('#r-product').textContent = ticket ? [ticket.product, ticket.variation, ticket.section].filter(Boolean).join(' · ') : '';
  resultNode.hidden = false;
  if (d.tone !== 'wait') {
    signal(d.tone);
    debug.lastResult = { tone: d.tone, title: d.title, detail: d.detail, name, offline: local, product: $('#r-product').textContent };
    debug.results.push(debug.lastResult);
    hideTimer = setTimeout(hide, d.tone === 'ok' ? 2000 : 4500);
  }
}

function hide() {
  clearTimeout(hideTimer);
  resultNode.hidden = true;
}

resultNode.addEventListener('click', hide);

// --- Pairing -------------------------------------------------------------------

async function pair(token) {
  setState('pairing');
  $('#pair-view').hidden = false;
  $('#pair-msg').textContent = 'Pairing…';
  try {
    const r = await api('POST', '/pair', { token });
    if (link) { link.stop(); link = null; }
    conf = { key: r.api_key, device: r.device, event: r.event, list: r.list, timezone: null };
    save();
    // Another device's snapshot is of no use (its queue stays: it is sent
    // with this device's key rather than lost).
    await Snapshot.forgetAll().catch(() => {});
    $('#pair-view').hidden = true;
    return true;
  } catch (e) {
    const msg = e instanceof ApiError && e.status >= 400 && e.status < 500
      ? 'This pairing link was already used or has expired. Create a new one on the dashboard (Devices).'
      : `Could not pair: ${e.message}`;
    $('#pair-msg').textContent = msg;
    setState(conf ? 'ready' : 'unpaired');
    return false;
  }
}

function pairTokenOf(text) {
  try {
    const u = new URL(text, location.href);
    if (u.pathname !== '/scanner') return null;
    const m = /^#pair=([^&]+)/.exec(u.hash);
    return m ? decodeURIComponent(m[1]) : null;
  } catch {
    return null;
  }
}

// --- Event ---------------------------------------------------------------------

async function chooseEvent() {
  const r = await api('GET', '/events');
  const evs = r.events || [];
  if (evs.length === 1) return evs[0];
  if (!evs.length) throw new Error('This device may scan no event.');
  const box = $('#event-buttons');
  $('#event-choice').hidden = false;
  return new Promise((resolve) => {
    box.replaceChildren(...evs.map((ev) => {
      const b = el('button', { type: 'button', class: 'primary', text: ev.name });
      b.addEventListener('click', () => { $('#event-choice').hidden = true; resolve(ev); });
      return b;
    }));
  });
}

async function ready() {
  useKey(conf.key);
  setState('loading');
  if (!conf.event) {
    const ev = await chooseEvent();
    conf.event = { uuid: ev.uuid, name: ev.name };
    conf.timezone = ev.timezone || null;
    save();
  }
  if (!conf.timezone) {
    // The event's time zone, for "already inside since 20:14"; without
    // it (a key that may not read the event), the phone's own.
    try {
      const ev = await api('GET', `/events/${conf.event.uuid}`);
      conf.timezone = ev.timezone || null;
      conf.event.name = ev.name;
      save();
    } catch (e) {
      if (isUnpaired(e)) throw e;
    }
  }
  renderHeader();
  setState('ready');
  startLink();
}

// --- The network: the banner, the link -------------------------------------------

function startLink() {
  if (link) link.stop();
  link = new Link(conf, {
    onChange: renderNet,
    onUnpaired: () => unpaired('This device is no longer paired. Open a new pairing link.'),
  });
  debug.link = link;
  link.start();
}

let shownRejected = 0;

function renderNet(l) {
  const net = $('#net');
  const n = l.queue.length;
  const snap = l.snap;
  debug.mode = l.mode;
  debug.waiting = n;
  debug.snapshot = snap.ready ? { tickets: snap.size, inside: snap.inside.size, cursor: snap.meta.cursor, offset: snap.offset, syncedAt: snap.meta.syncedAt } : null;
  debug.rejected = l.queue.rejected.map((r) => ({ nonce: r.item.nonce, code: r.item.code, error: r.error }));
  debug.uploaded = { ...l.queue.counts };
  const scans = (k) => `${k} scan${k === 1 ? '' : 's'}`;
  let title = '';
  let detail = '';
  if (l.mode === 'offline') {
    title = `Offline — ${scans(n)} waiting`;
    detail = snap.ready
      ? `Checked on this phone · tickets as of ${clock(new Date(snap.meta.syncedAt).toISOString(), conf.timezone)}`
      : 'This phone has no ticket list yet: it cannot check tickets until the network is back.';
  } else if (l.mode === 'sending') {
    title = `Back online — sending ${scans(n)}…`;
    detail = l.lastError ? `Not yet: ${l.lastError}` : '';
  } else if (l.queue.rejected.length > shownRejected) {
    const r = l.queue.rejected;
    title = `${scans(r.length - shownRejected)} refused by the server`;
    detail = r[r.length - 1].error;
    setTimeout(() => { shownRejected = r.length; renderNet(l); }, 8000);
  }
  net.dataset.mode = l.mode;
  $('#net-title').textContent = title;
  $('#net-detail').textContent = detail;
  net.hidden = !title;
  app.dataset.net = l.mode;
  // Search and check-in by hand need the server.
  $('#search-open').hidden = l.mode !== 'online';
  if (l.mode !== 'online') $('#search').hidden = true;
}

function unpaired(msg) {
  if (link) { link.stop(); link = null; }
  $('#net').hidden = true;
  conf = null;
  localStorage.removeItem(STORE);
  useKey(null);
  renderHeader();
  $('#pair-view').hidden = false;
  $('#pair-msg').textContent = msg || 'Open the browser scanner link of a device (dashboard → Devices), or scan its QR code with the camera below.';
  setState('unpaired');
}

// --- Scanning -------------------------------------------------------------------

async function check(code) {
  const id = ++seq;
  const waiting = setTimeout(() => { if (id === seq) show({ tone: 'wait', title: 'Checking…', detail: '' }, null); }, 150);
  debug.scansSent++;
  try {
    const r = await link.scan(code, mode, conf.list ? conf.list.uuid : undefined);
    clearTimeout(waiting);
    if (!r.answer) {
      show({ tone: 'warn', title: 'No connection', detail: 'Not checked: this phone has no ticket list yet. Scan again when the network is back.' }, null, true);
      recent.clear(); // the same code may be tried again at once
      return;
    }
    show(describe(r.answer, mode, conf.timezone), r.answer.ticket, r.local);
  } catch (e) {
    clearTimeout(waiting);
    failed(e);
  }
}

/** The key is unknown or its device archived: this phone is no longer paired. */
function isUnpaired(e) {
  return e instanceof ApiError && (e.status === 401 || (e.status === 403 && /archived/i.test(e.message)));
}

function failed(e) {
  if (isUnpaired(e)) {
    show({ tone: 'bad', title: 'Not paired', detail: 'This device was archived or its key is no longer valid: pair it again.' }, null);
    unpaired('This device is no longer paired. Open a new pairing link.');
    return;
  }
  if (e instanceof ApiError && e.status === 0) {
    show({ tone: 'warn', title: 'No connection', detail: 'Not checked: scan again when the network is back.' }, null);
    recent.clear(); // the same code may be tried again at once
    return;
  }
  show({ tone: 'bad', title: 'Not checked', detail: e.message }, null);
}

/** A code was read (camera or keyboard). */
async function onCode(text) {
  text = text.trim();
  if (!text) return;
  debug.lastCode = text;
  if (debug.codes[debug.codes.length - 1] !== text) debug.codes.push(text);
  // A code read again within 3 s of its last reading is not sent again:
  // while a ticket stays in front of the camera, it is sent once.
  const now = Date.now();
  for (const [c, at] of recent) if (now - at >= SAME_CODE_MS) recent.delete(c);
  const again = recent.has(text);
  recent.set(text, now);
  if (again) return;
  const token = pairTokenOf(text);
  if (token) {
    if (await pair(token)) await start();
    return;
  }
  if (!conf || app.dataset.state !== 'ready') {
    show({ tone: 'bad', title: 'Not paired', detail: 'Pair this phone first: open or scan a device pairing link.' }, null);
    return;
  }
  await check(text);
}

// --- Camera --------------------------------------------------------------------

const camera = new Camera($('#video'), onCode, (info) => {
  debug.decoder = info.decoder;
  app.dataset.camera = info.running ? 'on' : 'off';
  $('#start').hidden = info.running;
  $('#switch').hidden = !info.canSwitch;
  $('#torch').hidden = !info.hasTorch;
  $('#torch').setAttribute('aria-pressed', String(info.torch));
});
app.dataset.camera = 'off';
setInterval(() => { debug.frames = camera.frames; }, 250);

async function startCamera() {
  unlockAudio();
  cameraMsg.hidden = true;
  try {
    await camera.start();
  } catch (e) {
    cameraMsg.textContent = e.name === 'NotAllowedError' ? 'The camera was not allowed: allow it in the browser, or type codes below.'
      : e.name === 'NotFoundError' ? 'No camera found: type or scan codes with a keyboard scanner below.'
        : e.message;
    cameraMsg.hidden = false;
  }
}

$('#start').addEventListener('click', startCamera);
$('#switch').addEventListener('click', () => camera.switchCamera().catch((e) => { cameraMsg.textContent = e.message; cameraMsg.hidden = false; }));
$('#torch').addEventListener('click', () => camera.setTorch(!camera.torch).catch(() => { $('#torch').hidden = true; }));
modeBtn.addEventListener('click', () => {
  mode = mode === 'entry' ? 'exit' : 'entry';
  localStorage.setItem(MODE, mode);
  renderMode();
});

// --- Keyboard: the code field, and a wedge scanner typing with no focus --------

const codeInput = $('#code');
$('#wedge').addEventListener('submit', (e) => {
  e.preventDefault();
  unlockAudio();
  const v = codeInput.value;
  codeInput.value = '';
  onCode(v);
});

let wedge = '';
let wedgeAt = 0;
document.addEventListener('keydown', (e) => {
  const t = e.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const now = Date.now();
  if (now - wedgeAt > 500) wedge = '';
  wedgeAt = now;
  if (e.key === 'Enter') {
    if (wedge.length >= 4) { e.preventDefault(); unlockAudio(); onCode(wedge); }
    wedge = '';
  } else if (e.key.length === 1) {
    wedge += e.key;
  }
});

// --- Search and manual check-in -------------------------------------------------

const searchBox = $('#search');
const searchQ = $('#search-q');
const searchOut = $('#search-results');
let searchTimer = 0;
let searchCtl = null;

async function manual(t, type, button) {
  button.disabled = true;
  try {
    const r = await api('POST', `/events/${conf.event.uuid}/tickets/${t.uuid}/checkin`, { type, list: conf.list ? conf.list.uuid : undefined });
    searchBox.hidden = true;
    show(describe(r, type, conf.timezone), r.ticket || t);
  } catch (e) {
    failed(e);
  } finally {
    button.disabled = false;
  }
}

async function search() {
  const q = searchQ.value.trim();
  if (searchCtl) searchCtl.abort();
  if (q.length < 2 || !conf) { searchOut.replaceChildren(); return; }
  searchCtl = new AbortController();
  try {
    const r = await api('GET', `/events/${conf.event.uuid}/tickets?` + new URLSearchParams({ q, limit: '30' }), undefined, { signal: searchCtl.signal });
    const ts = r.tickets || [];
    searchOut.replaceChildren(...(ts.length ? ts.map((t) => ticketItem(t, manual)) : [el('li', { class: 'muted', text: 'No ticket matches.' })]));
  } catch (e) {
    if (e.name !== 'AbortError') searchOut.replaceChildren(el('li', { class: 'alert bad', text: e.message }));
  }
}

$('#search-open').addEventListener('click', () => {
  if (!conf) return;
  searchBox.hidden = false;
  searchQ.focus();
});
$('#search-close').addEventListener('click', () => { searchBox.hidden = true; });
$('#search-form').addEventListener('submit', (e) => { e.preventDefault(); search(); });
searchQ.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 200); });

// --- Start ---------------------------------------------------------------------

async function start() {
  try {
    await ready();
    $('#pair-view').hidden = true;
  } catch (e) {
    if (isUnpaired(e)) unpaired('This device is no longer paired. Open a new pairing link.');
    else { showError(cameraMsg, `Could not start: ${e.message}`); setState('error'); }
  }
}

/** The service worker keeps the page and its files for opening offline. */
async function registerWorker() {
  if (!('serviceWorker' in navigator)) { debug.sw = 'none'; return; }
  try {
    const reg = await navigator.serviceWorker.register('/scanner-sw.js', { scope: '/scanner' });
    await navigator.serviceWorker.ready;
    debug.sw = reg.active ? reg.active.state : 'installing';
  } catch (e) {
    debug.sw = 'failed: ' + e.message;
  }
}

async function main() {
  registerWorker();
  renderMode();
  const m = /^#pair=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname + location.search);
    await pair(decodeURIComponent(m[1]));
  }
  conf = conf || load();
  renderHeader();
  if (!conf) { unpaired(); return; }
  await start();
  if (window.matchMedia('(pointer: fine)').matches) codeInput.focus();
}

main();
