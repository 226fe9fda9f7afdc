// A static file server for www/ on 127.0.0.1: the page needs http (ES modules do not load from file://).
// Usage: node scripts/static-server.mjs [--port 8000] [--root www]; or import { startServer }.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * Serves `root` on `host:port` (port 0 picks a free one); resolves to { server, url }. `pages`
 * maps extra paths to HTML served as is (tests use a blank page of the same origin). A
 * `scenarios/` path that `root` does not have is served from the repository's scenarios/ (as
 * dist/ has them), so that www/'s embed page finds its scenario documents.
 */
export function startServer({ root, port = 8000, host = "127.0.0.1", pages = {} }) {
  const base = resolve(root);
  const scenarios = resolve(fileURLToPath(new URL("../scenarios", import.meta.url)));
  const server = createServer(async (request, response) => {
    try {
      const path = decodeURIComponent(new URL(request.url, "http://x").pathname);
      if (Object.hasOwn(pages, path)) {
        response.writeHead(200, { "content-type": TYPES[".html"], "cache-control": "no-store" });
        response.end(pages[path]);
        return;
      }
      let file = normalize(join(base, path));
      if (!file.startsWith(base)) {
        response.writeHead(403).end("forbidden");
        return;
      }
      if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, "index.html");
      if (path.startsWith("/scenarios/") && !(await stat(file).catch(() => null))) {
        file = normalize(join(scenarios, path.slice("/scenarios/".length)));
        if (!file.startsWith(scenarios)) {
          response.writeHead(403).end("forbidden");
          return;
        }
      }
      const body = await readFile(file);
      response.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      response.end(body);
    } catch {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      done({ server, url: `http://${host}:${server.address().port}/` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : fallback;
  };
  const { url } = await startServer({ root: arg("--root", "www"), port: Number(arg("--port", 8000)) });
  console.log(`es-sandbox is served at ${url}  (Ctrl-C to stop)`);
}
