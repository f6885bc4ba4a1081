// Devices of an event: create one and show its pairing codes (the browser
// scanner's link, the TiBillet app's pair URL, the pretixdroid setup code,
// the TickeTing token code); archive one.
import { api } from './api.js';
import { el, $, showError } from './dom.js';
import { ago } from './words.js';

const eventUUID = document.body.dataset.event;
const errNode = $('#devices-error');

function qrURL(text) {
  return '/qr.png?' + new URLSearchParams({ text, size: '480' }).toString();
}

function showPairing(d) {
  $('#pairing-name').textContent = d.name;
  const scanner = $('#qr-scanner');
  $('img', scanner).src = qrURL(d.scanner_url);
  $('img', scanner).dataset.text = d.scanner_url;
  $('.qr-link', scanner).href = d.scanner_url;
  const tib = $('#qr-tibillet');
  $('img', tib).src = d.pair_qr_png || qrURL(d.pair_url);
  $('img', tib).dataset.text = d.pair_url;
  $('.qr-text', tib).textContent = d.pair_url;
  const pretix = $('#qr-pretix');
  pretix.hidden = !(d.pretixdroid && d.pretixdroid.qr_png);
  if (!pretix.hidden) $('img', pretix).src = d.pretixdroid.qr_png;
  const tt = $('#qr-ticketing');
  tt.hidden = !d.ticketing_code;
  $('.token-code', tt).textContent = d.ticketing_code || '';
  $('#pairing').hidden = false;
  $('#pairing').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

async function archive(d, button) {
  if (!confirm(`Archive ${d.name}? Its key is refused from its next request.`)) return;
  button.disabled = true;
  try {
    await api('POST', `/devices/${d.uuid}/archive`);
    await load();
  } catch (e) {
    showError(errNode, e.message);
    button.disabled = false;
  }
}

async function load() {
  const r = await api('GET', `/events/${eventUUID}/devices`);
  const tbody = $('#device-list');
  const devs = (r.devices || []).sort((a, b) => Number(a.archived) - Number(b.archived) || a.name.localeCompare(b.name));
  if (!devs.length) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No devices yet.' })));
    return;
  }
  tbody.replaceChildren(...devs.map((d) => {
    const btn = d.archived ? el('span', { class: 'muted', text: 'archived' })
      : el('button', { type: 'button', text: 'Archive' });
    if (!d.archived) btn.addEventListener('click', () => archive(d, btn));
    return el('tr', { class: d.archived ? 'archived' : '', dataset: { uuid: d.uuid } },
      el('td', { text: d.name }),
      el('td', { text: d.list || 'default' }),
      el('td', { text: d.claimed ? 'yes' : 'not yet' }),
      el('td', { text: ago(d.last_seen) }),
      el('td', { class: 'num', text: d.scans ?? 0 }),
      el('td', {}, btn));
  }));
}

$('#device-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const button = $('button[type=submit]', form);
  const fd = new FormData(form);
  button.disabled = true;
  showError(errNode, '');
  try {
    const d = await api('POST', '/devices', { name: fd.get('name').trim(), event: eventUUID, list: fd.get('list') || null });
    showPairing(d);
    form.reset();
    await load();
  } catch (err) {
    showError(errNode, err.message);
  } finally {
    button.disabled = false;
  }
});

load().catch((e) => showError(errNode, `Could not load the devices: ${e.message}`));
