// The live page of an event: occupancy per list and section, arrivals per
// 5 minutes, the latest scans and the devices, all pushed by the API's
// live stream (server-sent events), never polled.
import { api, qs } from './api.js';
import { el, $, $$, showError } from './dom.js';
import { clock, reasonWords, ago } from './words.js';
import { startConflicts, liveScan } from './conflicts.js';

const body = document.body;
const eventUUID = body.dataset.event;
const tz = body.dataset.timezone || undefined;
const base = `/events/${eventUUID}`;
const FEED_MAX = 60;
const BUCKET = 5 * 60 * 1000;
const BUCKETS = 36; // 3 hours

const state = {
  seen: new Set(), // scan ids in the feed
  buckets: new Map(), // bucket start (ms) → arrivals
  devices: new Map(), // device name → row data
  counted: new Set(), // scan ids counted in the arrivals chart
  // Scans the live stream delivered before the first loads answered: the
  // loads' snapshots may or may not hold them, so they are applied again
  // once a snapshot is in (each count guards against counting twice).
  early: [],
  loaded: { recent: false, devices: false },
};

// --- Occupancy -------------------------------------------------------------

function renderArea(root, a) {
  let node = $$('.area', root).find((n) => n.dataset.name === a.name);
  if (!node) {
    node = el('div', { class: 'area', dataset: { name: a.name } },
      el('div', { class: 'area-head' }, el('span', { class: 'area-name', text: a.name }),
        el('span', { class: 'inside' }, el('b', { dataset: { f: 'inside' } }), ' inside')),
      el('div', { class: 'bar', dataset: { level: 'none' } }, el('div', { class: 'fill' })),
      el('div', { class: 'area-nums' },
        el('span', {}, el('b', { dataset: { f: 'entries' } }), ' entries'),
        el('span', {}, el('b', { dataset: { f: 'exits' } }), ' exits'),
        el('span', {}, el('b', { dataset: { f: 'total' } }), ' tickets'),
        el('span', { dataset: { f: 'capacity-text' } })));
    root.append(node);
  }
  const set = (f, v) => { const n = $(`[data-f="${f}"]`, node); if (n) n.textContent = v; };
  set('inside', a.inside);
  set('entries', a.entries);
  set('exits', a.exits);
  set('total', a.total);
  const bar = $('.bar', node);
  const fill = $('.fill', bar);
  let level = 'none';
  let pct = 0;
  if (a.capacity !== null && a.capacity !== undefined && a.capacity > 0) {
    pct = a.inside / a.capacity;
    level = pct >= 1 ? 'full' : pct >= 0.9 ? 'amber' : 'ok';
    set('capacity-text', pct >= 1 ? `FULL · capacity ${a.capacity}` : `${Math.round(pct * 100)}% of ${a.capacity}`);
  } else {
    pct = a.total > 0 ? a.inside / a.total : 0;
    set('capacity-text', a.total > 0 ? `${Math.round(pct * 100)}% of tickets` : '');
  }
  bar.dataset.level = level;
  node.classList.toggle('full', level === 'full');
  node.classList.toggle('amber', level === 'amber');
  fill.style.width = `${Math.min(100, pct * 100).toFixed(1)}%`;
}

function renderOccupancy(o) {
  const lists = $('#lists');
  for (const a of o.lists || []) renderArea(lists, a);
  let secs = $('#sections');
  if ((o.sections || []).length && !secs) {
    secs = el('div', { id: 'sections', class: 'areas' });
    $('.areas-panel').append(el('h2', { text: 'Sections' }), secs);
  }
  for (const a of o.sections || []) renderArea(secs, a);
}

// --- Arrivals chart ---------------------------------------------------------

function countArrival(s) {
  if (s.type !== 'entry' || s.result !== 'ok' || state.counted.has(s.id)) return;
  state.counted.add(s.id);
  const t = new Date(s.server_time).getTime();
  const b = Math.floor(t / BUCKET) * BUCKET;
  state.buckets.set(b, (state.buckets.get(b) || 0) + 1);
}

function renderChart() {
  const svg = $('#chart');
  const NS = 'http://www.w3.org/2000/svg';
  const nowB = Math.floor(Date.now() / BUCKET) * BUCKET;
  const first = nowB - (BUCKETS - 1) * BUCKET;
  let max = 1;
  for (let i = 0; i < BUCKETS; i++) max = Math.max(max, state.buckets.get(first + i * BUCKET) || 0);
  svg.replaceChildren();
  const w = 360 / BUCKETS;
  for (let h = 1; h < 4; h++) {
    const line = document.createElementNS(NS, 'line');
    line.setAttribute('x1', 0); line.setAttribute('x2', 360);
    line.setAttribute('y1', (120 * h) / 4); line.setAttribute('y2', (120 * h) / 4);
    svg.append(line);
  }
  for (let i = 0; i < BUCKETS; i++) {
    const start = first + i * BUCKET;
    const n = state.buckets.get(start) || 0;
    const hgt = n ? Math.max(2, (n / max) * 114) : 0;
    const r = document.createElementNS(NS, 'rect');
    r.setAttribute('x', (i * w + 1).toFixed(2));
    r.setAttribute('width', (w - 2).toFixed(2));
    r.setAttribute('y', (120 - hgt).toFixed(2));
    r.setAttribute('height', hgt.toFixed(2));
    if (start === nowB) r.setAttribute('class', 'now');
    const title = document.createElementNS(NS, 'title');
    title.textContent = `${clock(new Date(start).toISOString(), tz)}: ${n} arrivals`;
    r.append(title);
    svg.append(r);
  }
  const axis = $('#chart-axis');
  axis.replaceChildren(
    el('span', { text: clock(new Date(first).toISOString(), tz) }),
    el('span', { text: clock(new Date(first + BUCKET * 12).toISOString(), tz) }),
    el('span', { text: clock(new Date(first + BUCKET * 24).toISOString(), tz) }),
    el('span', { text: `now · max ${max}/5 min` }));
}

// --- Feed ---------------------------------------------------------------------

function feedItem(s, fresh) {
  const refused = s.result !== 'ok';
  const cls = [refused ? 'refused' : 'ok', s.type === 'exit' ? 'exit' : '', s.forced ? 'attention' : '', s.conflict ? 'conflict' : '', fresh ? 'fresh' : ''].filter(Boolean).join(' ');
  const tag = s.conflict ? 'conflict' : refused ? reasonWords(s.reason) : s.type === 'exit' ? 'exit' : s.forced ? 'forced' : 'in';
  const where = [s.list, s.section, s.device, s.offline ? 'offline' : ''].filter(Boolean).join(' · ');
  return el('li', { class: cls, dataset: { id: s.id, result: s.result, reason: s.reason || '' } },
    el('span', { class: 't', text: clock(s.server_time, tz) }),
    el('span', { class: 'who', text: s.attendee_name || (s.ticket ? 'Ticket ' + String(s.ticket).slice(0, 8) : 'Unknown code') }),
    el('span', { class: 'tag', text: tag }),
    el('span', { class: 'what', text: where }));
}

function addToFeed(s, fresh) {
  if (state.seen.has(s.id)) return false;
  state.seen.add(s.id);
  const feed = $('#feed');
  const empty = $('.empty', feed);
  if (empty) empty.remove();
  feed.prepend(feedItem(s, fresh));
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
  return true;
}

// --- Devices ------------------------------------------------------------------

function renderDevices() {
  const rows = [...state.devices.values()].filter((d) => !d.archived);
  const tbody = $('#device-rows');
  if (!rows.length) return;
  rows.sort((a, b) => a.name.localeCompare(b.name));
  tbody.replaceChildren(...rows.map((d) => {
    const quiet = d.last_seen && Date.now() - new Date(d.last_seen).getTime() > 10 * 60 * 1000;
    return el('tr', { class: quiet ? 'quiet' : '', dataset: { device: d.name } },
      el('td', { text: d.name }),
      el('td', { text: ago(d.last_seen), title: d.last_seen || '' }),
      el('td', { class: 'num', text: d.scans }),
      el('td', { class: 'num', text: d.refusals }));
  }));
}

// countDevice adds a live scan to its device's row, unless the row's
// snapshot already holds it: the snapshot counts every scan up to its
// last_seen, so only a later scan adds.
function countDevice(s) {
  if (!s.device) return;
  let d = state.devices.get(s.device);
  if (!d) { d = { name: s.device, scans: 0, refusals: 0, last_seen: null, base: -Infinity }; state.devices.set(s.device, d); }
  if (new Date(s.server_time).getTime() <= d.base) return;
  d.scans++;
  if (s.result !== 'ok') d.refusals++;
  if (!d.last_seen || new Date(s.server_time) > new Date(d.last_seen)) d.last_seen = s.server_time;
}

// --- Loading and the live stream ------------------------------------------

async function loadRecent() {
  const since = new Date(Date.now() - BUCKETS * BUCKET).toISOString();
  let after = null;
  let scans = [];
  for (let page = 0; page < 20; page++) {
    const r = await api('GET', `${base}/scans${qs({ since, after, limit: 1000 })}`);
    scans = scans.concat(r.scans || []);
    if (!r.next) break;
    after = r.next;
  }
  state.buckets.clear();
  state.counted.clear();
  for (const s of scans) countArrival(s);
  for (const s of scans.slice(-FEED_MAX)) addToFeed(s, false);
  state.loaded.recent = true;
  for (const s of state.early) countArrival(s);
  renderChart();
}

async function loadDevices() {
  const r = await api('GET', `${base}/devices`);
  for (const d of r.devices || []) {
    state.devices.set(d.name, { ...d, base: d.last_seen ? new Date(d.last_seen).getTime() : -Infinity });
  }
  state.loaded.devices = true;
  for (const s of state.early) countDevice(s);
  renderDevices();
}

function setStatus(st, text) {
  const n = $('#live-status');
  n.dataset.state = st;
  n.textContent = text;
}

function connect() {
  const es = new EventSource(`/api/v1${base}/live`);
  es.addEventListener('open', () => setStatus('live', 'live'));
  es.addEventListener('error', () => setStatus('error', 'reconnecting…'));
  es.addEventListener('occupancy', (e) => renderOccupancy(JSON.parse(e.data)));
  es.addEventListener('scan', (e) => {
    const s = JSON.parse(e.data);
    if ((!state.loaded.recent || !state.loaded.devices) && state.early.length < 10000) state.early.push(s);
    if (addToFeed(s, true)) {
      liveScan(s);
      countArrival(s);
      countDevice(s);
      renderChart();
      renderDevices();
    }
  });
  return es;
}

async function start() {
  const errNode = $('#live-error');
  connect();
  startConflicts(base, tz);
  const results = await Promise.allSettled([
    api('GET', `${base}/occupancy`).then(renderOccupancy),
    loadRecent(),
    loadDevices(),
  ]);
  state.loaded.recent = state.loaded.devices = true;
  state.early = [];
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) showError(errNode, `Could not load everything: ${failed.reason.message}`);
  renderChart();
  // The clock moves on: redraw the chart's buckets and the "last seen"
  // texts (no request to the server).
  setInterval(() => { renderChart(); renderDevices(); }, 30000);
}

start();
