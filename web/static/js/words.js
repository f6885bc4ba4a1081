// What a scan's answer means, in words for the door: a tone (ok: green,
// bad: red, warn: amber), a title and a detail.

const refusals = {
  already_inside: ['Already inside', ''],
  already_redeemed: ['Already inside', ''],
  already_used: ['Already used', 'This ticket has entered before.'],
  not_in_snapshot: ['Not on this phone', 'This ticket is not in the list this phone keeps: it can only be checked online.'],
  online_only: ['Online only', 'A typed code can only be checked when the network is back: scan the QR code.'],
  unknown_ticket: ['Unknown ticket', 'No ticket of this event has this code.'],
  forged: ['Not a valid ticket', 'The code is not signed by this event.'],
  bad_signature: ['Not a valid ticket', 'The code is not signed by this event.'],
  unreadable: ['Unreadable code', 'This is not a ticket code.'],
  bad_format: ['Unreadable code', 'This is not a ticket code.'],
  bad_encoding: ['Unreadable code', 'This is not a ticket code.'],
  no_uuid: ['Unreadable code', 'This is not a ticket code.'],
  canceled: ['Canceled', 'This ticket was canceled.'],
  unpaid: ['Unpaid', 'The order of this ticket is not paid.'],
  blocked: ['Blocked', 'This ticket is blocked.'],
  not_valid_yet: ['Not valid yet', 'This ticket is not valid at this time yet.'],
  expired: ['Expired', 'This ticket is no longer valid.'],
  invalid_time: ['Not valid now', 'This ticket is not valid at this time.'],
  not_on_list: ['Not for this entrance', 'This ticket is not valid on this check-in list.'],
  product: ['Not for this entrance', 'This ticket is not valid on this check-in list.'],
  wrong_event: ['Wrong event', 'This ticket is for another event.'],
  capacity: ['Area full', 'The area is at its capacity.'],
  not_inside: ['Not inside', 'This ticket has not entered: no exit to record.'],
};

/** The clock time of an ISO time, in the event's time zone if known. */
export function clock(iso, timeZone) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  try {
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: timeZone || undefined });
  } catch {
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  }
}

/** Words for a refusal reason (for the scan feed). */
export function reasonWords(reason) {
  return (refusals[reason] || [reason ? reason.replaceAll('_', ' ') : 'Refused'])[0];
}

/**
 * describe(answer, type, timeZone) → {tone, title, detail} for a ScanResult
 * of the API.
 */
export function describe(r, type, timeZone) {
  if (r.result === 'ok') {
    if (r.attention) {
      return { tone: 'warn', title: type === 'exit' ? 'Exit: check' : 'Check the ID', detail: r.message || 'Admitted by force: check the ticket and the person.' };
    }
    const first = r.ticket && r.ticket.first_name ? r.ticket.first_name : '';
    if (type === 'exit') return { tone: 'ok', title: first ? `Bye, ${first}` : 'Goodbye', detail: 'Exit recorded' };
    return { tone: 'ok', title: first ? `Welcome, ${first}` : 'Welcome', detail: '' };
  }
  const [title, generic] = refusals[r.reason] || ['Refused', ''];
  let detail = generic;
  if ((r.reason === 'already_inside' || r.reason === 'already_redeemed' || r.reason === 'already_used') && r.first_entry) {
    const at = clock(r.first_entry.at, timeZone);
    detail = `since ${at}${r.first_entry.device ? ' at ' + r.first_entry.device : ''}`;
  } else if (!detail) {
    detail = r.message || '';
  }
  return { tone: 'bad', title, detail };
}

/** "3 min ago" for an ISO time. */
export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
