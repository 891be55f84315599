// The service worker: keeps the app shell (the page, its scripts, styles and automerge's
// WebAssembly) in a cache, so that after one visit the app opens with no network at all. The
// plan itself lives in IndexedDB, written by automerge-repo, not here.
//
// The build fills in VERSION and ASSETS (see vite.config.ts); a new build has a new version,
// so the browser installs it and the old cache is dropped.

const VERSION = "dac564e3812cae77";
const ASSETS = ["/assets/automerge-LjMxZKTS.wasm","/assets/index-CWLvJzIc.js","/assets/index-ymahhLmx.css"];
const CACHE = `tandem-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(["/", ...ASSETS]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("tandem-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // The relay's own routes always go to the network.
  if (url.pathname.startsWith("/v1/") || url.pathname === "/health" || url.pathname === "/metrics") return;
  if (request.mode === "navigate") {
    // Every page of the app (`/`, `/j/CODE`) is the same shell, which reads its route itself.
    event.respondWith(caches.match("/", { cacheName: CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
});
