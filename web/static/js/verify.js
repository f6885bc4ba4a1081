// A signed QR code read and verified in the browser, as the server does
// (code.go: ParseCode, LooksSigned, Verify): "payload:signature", both
// base64 (either alphabet, padding optional), the payload a JSON object
// with the ticket's uuid and, in codes admit issues, its event's uuid; the
// signature Ed25519, or RSA-PSS with SHA-256 and any salt length, by one
// of the event's public keys. WebCrypto verifies; where a browser has no
// Ed25519 in WebCrypto, the vendored @noble/ed25519 does.

/** The "payload:signature" shape, rather than a plain secret or serial. */
export function looksSigned(code) {
  return code.split(':').length === 2 && new TextEncoder().encode(code).length > 40;
}

/** Bytes of base64 text in either alphabet, or null. */
export function b64(s) {
  s = s.replace(/=+$/, '');
  if (/[+/]/.test(s)) {
    if (/[-_]/.test(s)) return null;
  } else {
    s = s.replaceAll('-', '+').replaceAll('_', '/');
  }
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  try {
    const bin = atob(s + '='.repeat((4 - (s.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** A JSON key matched as Go's encoding/json does: exactly, else ignoring case. */
function field(obj, name) {
  if (Object.hasOwn(obj, name)) return obj[name];
  const k = Object.keys(obj).find((x) => x.toLowerCase() === name);
  return k === undefined ? undefined : obj[k];
}

/**
 * parseCode(code) → {payload, signature, uuid, event} or {reason:
 * 'unreadable', detail}. uuid is lowercase; event is '' when the code
 * names none.
 */
export function parseCode(code) {
  code = code.trim();
  const parts = code.split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return { reason: 'unreadable', detail: 'expected payload:signature' };
  const [payload, sigText] = parts;
  const raw = b64(payload);
  if (!raw) return { reason: 'unreadable', detail: 'payload is not base64' };
  let claims;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return { reason: 'unreadable', detail: 'payload is not a JSON object' };
  }
  if (claims === null) claims = {};
  if (typeof claims !== 'object' || Array.isArray(claims)) return { reason: 'unreadable', detail: 'payload is not a JSON object' };
  const uuid = field(claims, 'uuid');
  const event = field(claims, 'event');
  if ((uuid !== undefined && uuid !== null && typeof uuid !== 'string') || (event !== undefined && event !== null && typeof event !== 'string')) {
    return { reason: 'unreadable', detail: 'payload is not a JSON object' };
  }
  if (!uuid) return { reason: 'unreadable', detail: 'no uuid' };
  const signature = b64(sigText);
  if (!signature) return { reason: 'unreadable', detail: 'signature is not base64' };
  return { payload, signature, uuid: uuid.toLowerCase(), event: (event || '').toLowerCase() };
}

/** The DER bytes of a PEM block. */
function pemBytes(pem) {
  const body = pem.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '');
  return b64(body);
}

// Ed25519's SubjectPublicKeyInfo: this 12-byte prefix, then the 32-byte key.
const ED25519_SPKI = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

let noble = null;
function loadNoble() {
  if (!noble) noble = import('../vendor/noble-ed25519.js');
  return noble;
}

/** How Ed25519 was verified last: 'webcrypto' or 'noble' (for tests). */
export const engine = { ed25519: null };

const imported = new Map(); // pem → Promise<verifier(payloadBytes, sig) → Promise<bool>>

async function ed25519Verifier(der) {
  const raw = der.slice(ED25519_SPKI.length);
  try {
    const key = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
    return async (data, sig) => {
      engine.ed25519 = 'webcrypto';
      return sig.length === 64 && crypto.subtle.verify({ name: 'Ed25519' }, key, sig, data);
    };
  } catch {
    // No Ed25519 in this browser's WebCrypto.
  }
  const ed = await loadNoble();
  return async (data, sig) => {
    engine.ed25519 = 'noble';
    if (sig.length !== 64) return false;
    try {
      return await ed.verifyAsync(sig, data, raw, { zip215: false });
    } catch {
      return false;
    }
  };
}

async function rsaVerifier(der, saltLength) {
  const key = await crypto.subtle.importKey('spki', der, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
  const bits = key.algorithm.modulusLength;
  if (bits < 2048) throw new Error('RSA key too short');
  // The server accepts any salt length; WebCrypto wants the one used: the
  // one the snapshot names first, then the longest (Go's and Python's
  // default), the hash's length, or none.
  const emLen = Math.ceil((bits - 1) / 8);
  const named = Number.isInteger(saltLength) ? [saltLength] : [];
  const salts = [...new Set([...named, emLen - 32 - 2, 32, 0, 20, 64])].filter((n) => n >= 0 && n <= emLen - 32 - 2);
  return async (data, sig) => {
    for (const saltLength of salts) {
      try {
        if (await crypto.subtle.verify({ name: 'RSA-PSS', saltLength }, key, sig, data)) return true;
      } catch {
        // a salt length this key cannot have
      }
    }
    return false;
  };
}

function verifier(pem, saltLength) {
  const id = `${saltLength}\n${pem}`;
  let v = imported.get(id);
  if (!v) {
    v = (async () => {
      const der = pemBytes(pem);
      if (!der) throw new Error('bad PEM');
      const isEd = der.length === 44 && ED25519_SPKI.every((b, i) => der[i] === b);
      return isEd ? ed25519Verifier(der) : rsaVerifier(der, saltLength);
    })();
    imported.set(id, v);
  }
  return v;
}

/**
 * Whether signature signs payload (the text as scanned) under one of keys
 * ([{alg, pem, salt_length}]). A key that cannot be read is skipped.
 */
export async function verifySignature(keys, payload, signature) {
  const data = new TextEncoder().encode(payload);
  for (const k of keys || []) {
    let v;
    try {
      v = await verifier(k.pem, k.salt_length);
    } catch {
      continue;
    }
    if (await v(data, signature)) return true;
  }
  return false;
}
