// Import a JSON (admit's import format) or CSV file through the API, with
// upload progress, then the summary or the error with its place.
import { headers } from './api.js';
import { el, $ } from './dom.js';

const form = $('#import-form');
const file = $('#file');
const csvEvent = $('#csv-event');
const progress = $('#import-progress');
const status = $('#import-status');
const result = $('#import-result');

const isCSV = (f) => f && (/\.csv$/i.test(f.name) || f.type === 'text/csv');

file.addEventListener('change', () => { csvEvent.hidden = !isCSV(file.files[0]); });

function summary(obj) {
  const dl = el('dl', { class: 'summary' });
  const add = (k, v) => dl.append(el('dt', { text: k }), el('dd', { text: typeof v === 'object' ? JSON.stringify(v) : String(v) }));
  for (const [k, v] of Object.entries(obj || {})) {
    if (Array.isArray(v) && v.length > 10) add(k, `${v.length} items`);
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) add(`${k} ${k2}`, v2);
    else add(k, v);
  }
  return dl;
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const f = file.files[0];
  if (!f) return;
  const csv = isCSV(f);
  const url = csv ? `/api/v1/events/${new FormData(form).get('event')}/imports/csv` : '/api/v1/imports';
  const xhr = new XMLHttpRequest();
  xhr.open('POST', url);
  for (const [k, v] of Object.entries(headers('POST', { 'Content-Type': csv ? 'text/csv' : 'application/json' }))) xhr.setRequestHeader(k, v);
  progress.hidden = false;
  progress.value = 0;
  result.hidden = true;
  status.textContent = `Uploading ${f.name}…`;
  $('button', form).disabled = true;
  xhr.upload.addEventListener('progress', (ev) => {
    if (ev.lengthComputable) progress.value = (ev.loaded / ev.total) * 100;
  });
  xhr.upload.addEventListener('load', () => { progress.removeAttribute('value'); status.textContent = 'Importing… (all or nothing)'; });
  xhr.addEventListener('loadend', () => {
    $('button', form).disabled = false;
    progress.hidden = true;
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { body = null; }
    result.hidden = false;
    if (xhr.status >= 200 && xhr.status < 300) {
      status.textContent = '';
      result.replaceChildren(el('p', { class: 'alert ok', text: `Imported ${f.name}.` }), summary(body));
    } else {
      status.textContent = '';
      const msg = (body && (body.detail || body.title)) || (xhr.status ? `The server answered ${xhr.status}.` : 'No connection to the server.');
      result.replaceChildren(el('p', { class: 'alert bad', role: 'alert', text: `Nothing was imported: ${msg}` }));
    }
  });
  xhr.send(f);
});
