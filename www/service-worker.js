// The hosted app's service worker (dist/sw.js, registered only by the built page): keeps every
// file of the app, so that it opens with no network after its first visit. scripts/dist puts
// the file list and a version (a hash of the files) before this text; a new version replaces
// the old cache once every tab of the old one is gone.
/* global FILES, VERSION */

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== VERSION).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== location.origin) return;
  // Pages differ only in their query (?scenario=…) and fragment (#share=…): one cached copy.
  const ignoreSearch = request.mode === "navigate";
  event.respondWith(
    caches.open(VERSION).then((cache) =>
      cache.match(request, { ignoreSearch }).then((cached) => cached ?? fetch(request)),
    ),
  );
});
