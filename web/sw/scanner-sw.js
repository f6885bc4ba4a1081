// The scanner's service worker: the scanner page (/scanner) and the static
// files it needs, kept so that the scanner opens and works with no network
// after its first visit. The server prepends VERSION (the static files'
// version) and ASSETS (their URLs) to this file: a new version is a new
// worker, which fills its own cache and drops the older ones.
//
// What it answers:
// - the scanner page: the network first (3 s at most), else the copy kept;
//   every page fetched is kept.
// - /static/...: the cache first (the files are immutable), else the network.
// - everything else (the API) is not touched: the page decides what to do
//   when the network fails.
/* global VERSION, ASSETS */

const CACHE = 'admit-scanner-' + VERSION;
const PAGE = '/scanner';
const PAGE_TIMEOUT = 3000;

self.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll([PAGE, ...ASSETS].map((u) => new Request(u, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('admit-scanner-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** fetch with a time limit. */
function fetchWithin(req, ms) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  return fetch(req, { signal: ctl.signal }).finally(() => clearTimeout(timer));
}

async function page(req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetchWithin(req, PAGE_TIMEOUT);
    if (res.ok) await cache.put(PAGE, res.clone());
    if (res.status < 500) return res;
    // A proxy's 502 or 504: the server is not there.
    return (await cache.match(PAGE)) || res;
  } catch (err) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw err;
  }
}

async function asset(req) {
  const hit = await caches.match(req, { ignoreVary: true });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && new URL(req.url).pathname.startsWith('/static/' + VERSION + '/')) {
    const cache = await caches.open(CACHE);
    await cache.put(req, res.clone());
  }
  return res;
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate' && url.pathname === PAGE) e.respondWith(page(req));
  else if (url.pathname.startsWith('/static/')) e.respondWith(asset(req));
});
