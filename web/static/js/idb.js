// The scanner's IndexedDB: what it keeps between visits for working
// offline. Two stores: kv (the snapshot's parts and the clock offset, by
// name) and queue (the scans not yet confirmed by the server, in the order
// they were made: an auto-incremented key).

const NAME = 'admit-scanner';
const VERSION = 1;

let opening = null;

/** The database, opened once. */
export function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, VERSION);
      req.onupgradeneeded = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains('kv')) d.createObjectStore('kv');
        if (!d.objectStoreNames.contains('queue')) d.createObjectStore('queue', { keyPath: 'seq', autoIncrement: true });
      };
      req.onsuccess = () => {
        const d = req.result;
        // Another tab upgrading: let it, this one reopens when it needs to.
        d.onversionchange = () => { d.close(); opening = null; };
        resolve(d);
      };
      req.onerror = () => { opening = null; reject(req.error); };
      req.onblocked = () => reject(new Error('The scanner is open in another tab with an older version: close it.'));
    });
  }
  return opening;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
  });
}

function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** The value of key in store (undefined if none). */
export async function get(store, key) {
  const tx = (await db()).transaction(store, 'readonly');
  return result(tx.objectStore(store).get(key));
}

/** Every value of store, in key order. */
export async function all(store) {
  const tx = (await db()).transaction(store, 'readonly');
  return result(tx.objectStore(store).getAll());
}

/**
 * Write several kv entries in one transaction: entries is [[key, value],
 * ...]; a value of undefined deletes its key.
 */
export async function putKV(entries) {
  const tx = (await db()).transaction('kv', 'readwrite');
  const st = tx.objectStore('kv');
  for (const [k, v] of entries) {
    if (v === undefined) st.delete(k);
    else st.put(v, k);
  }
  return done(tx);
}

/** Add a value to the queue; resolves to its key (seq). */
export async function enqueue(value) {
  const tx = (await db()).transaction('queue', 'readwrite');
  const key = result(tx.objectStore('queue').add(value));
  await done(tx);
  return key;
}

/** Delete queue entries by key. */
export async function dequeue(keys) {
  const tx = (await db()).transaction('queue', 'readwrite');
  const st = tx.objectStore('queue');
  for (const k of keys) st.delete(k);
  return done(tx);
}

/** Empty a store. */
export async function clear(store) {
  const tx = (await db()).transaction(store, 'readwrite');
  tx.objectStore(store).clear();
  return done(tx);
}
