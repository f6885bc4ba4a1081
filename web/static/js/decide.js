// The offline decision: the server's rules (core.go resolve and decide,
// decide.go Decide, the store's ListPolicy.Admits), applied on the phone to
// its snapshot and its own scans since, with the API's reason names
// (api/scans.go apiReason). In the server's order:
//   the code: unreadable, another event's, forged (signature);
//   the ticket: not in the snapshot (unless the list admits unknown codes
//   offline), another date, canceled, blocked; an exit is then admitted if
//   the ticket is inside; outside its validity window, product or section
//   not on the list, unpaid;
//   the list's policy: already inside, already used.
// Typed plain codes (order codes, secrets, serials) need the server's
// lookup: offline they are refused as "online only".
import { looksSigned, parseCode, verifySignature } from './verify.js';

/** A ticket uuid as the snapshot writes it: 32 lowercase hex digits. */
export function compactUUID(uuid) {
  const u = String(uuid || '').toLowerCase().replaceAll('-', '');
  return /^[0-9a-f]{32}$/.test(u) ? u : '';
}

/**
 * decideOffline(snap, code, type, at) → {verdict, reason, uuid, cls,
 * state, unknown, plain}. verdict is 'ok' or the API reason shown;
 * at is the time of the scan on the server's clock (ms). snap gives
 * event, list, and classOf(uuid), stateOf(uuid).
 */
export async function decideOffline(snap, code, type, at) {
  code = String(code || '').trim();
  const out = { verdict: 'ok', uuid: '', cls: null, state: null, unknown: false, plain: false, detail: '' };
  const refuse = (reason, detail) => Object.assign(out, { verdict: reason, detail: detail || '' });
  if (!code) return refuse('unreadable', 'empty code');
  if (!looksSigned(code)) {
    out.plain = true;
    return refuse('not_in_snapshot', 'a typed code: only the server can look it up');
  }
  const pc = parseCode(code);
  if (pc.reason) return refuse(pc.reason, pc.detail);
  // A code that names another event: its key is not on this phone. (The
  // server says "wrong event" if that event's key signed it, else
  // "forged": refused either way.)
  if (pc.event && pc.event !== snap.event.uuid.toLowerCase()) return refuse('wrong_event');
  if (!(await verifySignature(snap.event.keys, pc.payload, pc.signature))) return refuse('forged');
  out.uuid = compactUUID(pc.uuid);
  const cls = out.uuid ? snap.classOf(out.uuid) : null;
  out.state = out.uuid ? snap.stateOf(out.uuid) : { inside: false, entered: false };
  if (!cls) {
    // Genuine, but the snapshot does not have it (sold after the last
    // sync, or another date's): the list's setting decides.
    out.unknown = true;
    if (!snap.list.admit_unknown_offline) return refuse('not_in_snapshot');
    return policy(snap.list, out, type);
  }
  out.cls = cls;
  const l = snap.list;
  if (l.subevent && cls.subevent !== l.subevent) return refuse('unknown_ticket'); // the server: not on the list's date
  if (cls.status === 'canceled') return refuse('canceled');
  if (cls.blocked) return refuse('blocked');
  if (type !== 'exit') {
    if (cls.from !== null && at < cls.from) return refuse('not_valid_yet');
    if (cls.until !== null && at > cls.until) return refuse('expired');
    if (!l.all_products && !(l.products || []).includes(cls.product)) return refuse('not_on_list');
    if ((l.sections || []).length && !l.sections.includes(cls.section)) return refuse('not_on_list');
    if (cls.status !== 'paid') return refuse('unpaid');
  }
  return policy(l, out, type);
}

/** The list's policy on the ticket's state (ListPolicy.Admits; exits). */
function policy(l, out, type) {
  const st = out.state;
  if (type === 'exit') {
    if (!st.inside) { out.verdict = 'not_inside'; }
    return out;
  }
  if (!st.entered || l.allow_multiple_entries || (l.allow_entry_after_exit && !st.inside)) return out;
  out.verdict = st.inside ? 'already_inside' : 'already_used';
  return out;
}
