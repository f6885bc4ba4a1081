// Find a ticket and check it in or out by hand: the same decision as a
// scan, logged as manual with the signed-in organizer's name.
import { api, qs } from './api.js';
import { el, $ } from './dom.js';
import { describe, clock } from './words.js';

const eventUUID = document.body.dataset.event;
const tz = document.body.dataset.timezone || undefined;

export function ticketItem(t, onCheck) {
  const badges = [];
  if (t.order_status === 'canceled') badges.push(el('span', { class: 'badge bad', text: 'canceled' }));
  if (t.order_status === 'pending') badges.push(el('span', { class: 'badge bad', text: 'unpaid' }));
  if (t.blocked) badges.push(el('span', { class: 'badge bad', text: 'blocked' }));
  if (t.state && t.state.inside) badges.push(el('span', { class: 'badge ok', text: `inside since ${clock(t.state.last_at, tz)}` }));
  const meta = [t.order_code && `order ${t.order_code}`, t.product, t.variation, t.section, t.email].filter(Boolean).join(' · ');
  const inBtn = el('button', { type: 'button', class: 'primary', text: 'Check in' });
  const outBtn = el('button', { type: 'button', text: 'Check out' });
  inBtn.addEventListener('click', () => onCheck(t, 'entry', inBtn));
  outBtn.addEventListener('click', () => onCheck(t, 'exit', outBtn));
  return el('li', { class: 'ticket', dataset: { uuid: t.uuid } },
    el('div', { class: 'name' }, t.name || `${t.first_name || ''} ${t.last_name || ''}`.trim() || 'No name', ...badges),
    el('div', { class: 'meta', text: meta }),
    el('div', { class: 'acts' }, inBtn, outBtn));
}

export function showBanner(node, r, type, name) {
  const d = describe(r, type, tz);
  node.dataset.tone = d.tone;
  node.replaceChildren(el('b', { text: d.title }), [name, d.detail].filter(Boolean).join(' · '));
  node.hidden = false;
}

if (document.body.dataset.view === 'tickets') {
  const q = $('#q');
  const list = $('#ticket-search select[name=list]');
  const out = $('#tickets');
  const banner = $('#checkin-result');
  let ctl = null;
  let timer = 0;

  const check = async (t, type, button) => {
    button.disabled = true;
    try {
      const r = await api('POST', `/events/${eventUUID}/tickets/${t.uuid}/checkin`, { type, list: list.value || undefined });
      showBanner(banner, r, type, t.name);
      await search();
    } catch (e) {
      banner.dataset.tone = 'bad';
      banner.replaceChildren(el('b', { text: 'Not checked' }), e.message);
      banner.hidden = false;
    } finally {
      button.disabled = false;
    }
  };

  const search = async () => {
    const text = q.value.trim();
    if (ctl) ctl.abort();
    if (text.length < 2) { out.replaceChildren(); return; }
    ctl = new AbortController();
    try {
      const r = await api('GET', `/events/${eventUUID}/tickets${qs({ q: text, limit: 50 })}`, undefined, { signal: ctl.signal });
      const ts = r.tickets || [];
      out.replaceChildren(...(ts.length ? ts.map((t) => ticketItem(t, check)) : [el('li', { class: 'muted', text: 'No ticket matches.' })]));
    } catch (e) {
      if (e.name !== 'AbortError') out.replaceChildren(el('li', { class: 'alert bad', text: e.message }));
    }
  };

  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  $('#ticket-search').addEventListener('submit', (e) => { e.preventDefault(); search(); });
}
