// The event page's conflicts: offline scans the server judged otherwise
// than the phone did (GET /api/v1/events/{event}/conflicts), each with both
// scans, and their count, kept live by the stream's scan events that carry
// a conflict.
import { api } from './api.js';
import { el, $, showError } from './dom.js';
import { clock, reasonWords } from './words.js';

const kinds = {
  already_inside: ['Entered twice', 'Admitted offline, but the ticket was already inside: another scan got there first.'],
  refused_by_server: ['Should have been refused', 'Admitted offline; the server refuses it'],
  admissible: ['Turned away', 'Refused offline; the server would have admitted it.'],
};

let base = '';
let tz;
let count = 0;
let refetch = 0;
let loading = null;

function renderCount() {
  const n = $('#conflict-count');
  n.dataset.count = String(count);
  n.textContent = count === 1 ? '1 conflict' : `${count} conflicts`;
  $('#conflict-total').textContent = String(count);
}

function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const sec = isNaN(d) ? '' : ':' + String(d.getSeconds()).padStart(2, '0');
  return clock(iso, tz) + sec;
}

/** One scan of a conflict: who, when on the device, when it reached the server, what it said. */
function scanLine(label, s) {
  if (!s) return el('div', { class: 'c-scan muted' }, el('span', { class: 'c-label', text: label }), el('div', { text: 'not known' }));
  const said = s.offline
    ? `phone said ${s.device_verdict === 'ok' || !s.device_verdict ? 'admit' : reasonWords(s.device_verdict).toLowerCase()}`
    : 'online';
  const result = s.result === 'ok' ? 'recorded as admitted' : `recorded as refused${s.reason ? ': ' + reasonWords(s.reason).toLowerCase() : ''}`;
  return el('div', { class: 'c-scan' },
    el('span', { class: 'c-label', text: label }),
    el('div', {},
      el('div', {}, el('b', { text: s.device || 'unknown device' }),
        ` · scanned ${when(s.device_time || s.server_time)}`, s.offline ? ` · arrived ${when(s.server_time)}` : ''),
      el('div', { class: 'muted', text: `${said} · ${result}` })));
}

function item(c) {
  const [title, generic] = kinds[c.kind] || [c.kind, ''];
  const reason = c.reason || (c.scan && c.scan.reason);
  const detail = c.kind === 'refused_by_server' ? `${generic}${reason ? ': ' + reasonWords(reason).toLowerCase() : ''}.` : generic;
  const t = c.ticket || {};
  const name = t.name || [t.first_name, t.last_name].filter(Boolean).join(' ') || (t.uuid ? 'Ticket ' + t.uuid.slice(0, 8) : 'Unknown ticket');
  const meta = [t.product, t.section, t.order_code && `order ${t.order_code}`].filter(Boolean).join(' · ');
  return el('li', { class: 'c-item', dataset: { kind: c.kind, ticket: t.uuid || '' } },
    el('div', { class: 'c-head' }, el('span', { class: 'c-kind', text: title }), el('b', { class: 'c-name', text: name }), el('span', { class: 'muted', text: meta })),
    el('p', { class: 'c-detail', text: detail }),
    scanLine('Offline', c.scan),
    c.other ? scanLine(c.kind === 'admissible' ? 'Before' : 'First', c.other) : null);
}

async function load() {
  const r = await api('GET', `${base}/conflicts`);
  const list = r.conflicts || [];
  count = typeof r.count === 'number' ? r.count : list.length;
  renderCount();
  const ol = $('#conflict-list');
  ol.replaceChildren(...(list.length ? list.map(item) : [el('li', { class: 'muted empty', text: 'No conflicts: every offline scan was judged as the phone did.' })]));
  showError($('#conflict-error'), '');
}

let again = false;

function reload() {
  if (loading) { again = true; return; }
  loading = load().catch((e) => {
    // A server without the conflicts API (404) shows none.
    if (e.status !== 404) showError($('#conflict-error'), `Could not load the conflicts: ${e.message}`);
  }).finally(() => {
    loading = null;
    if (again) { again = false; reload(); }
  });
}

/** Start: the count and the list. */
export function startConflicts(eventPath, timeZone) {
  base = eventPath;
  tz = timeZone;
  reload();
}

/** A scan of the live stream: one with a conflict counts at once, and the list is read again. */
export function liveScan(s) {
  if (!s.conflict) return;
  count++;
  renderCount();
  clearTimeout(refetch);
  refetch = setTimeout(reload, 400);
}
