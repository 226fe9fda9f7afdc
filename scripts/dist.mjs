// Builds dist/ from www/ (run by scripts/dist after the wasm build):
// - the hosted app: www/'s files (no TypeScript declarations), the shipped scenarios' documents,
//   and sw.js, a service worker that keeps them all for offline use;
// - es-sandbox.html: one file with the page's modules bundled by esbuild, the wasm inlined as
//   base64 (compiled, then started with initSync), the query worker started from a blob, the
//   styles inlined, and a Content-Security-Policy that allows exactly those inline parts.
import { createHash } from "node:crypto";
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join, relative } from "node:path";
import { build } from "esbuild";

const WWW = "www";
const DIST = "dist";

/** Every file under a directory, as paths relative to it. */
async function files(dir, base = dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await files(path, base)));
    else found.push(relative(base, path));
  }
  return found.sort();
}

const sha256 = (text) => createHash("sha256").update(text).digest("base64");

/**
 * Bundles one entry module into one script text (an ES module, or a classic script with
 * `classic`); `wasmSource` replaces www/wasm-source.js.
 */
async function bundle(entry, { wasmSource, classic = false } = {}) {
  const plugins = wasmSource
    ? [
        {
          name: "inline-wasm",
          setup(b) {
            b.onResolve({ filter: /wasm-source\.js$/ }, () => ({ path: "wasm-source", namespace: "inline" }));
            b.onLoad({ filter: /.*/, namespace: "inline" }, () => ({ contents: wasmSource, resolveDir: WWW, loader: "js" }));
          },
        },
      ]
    : [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: classic ? "iife" : "esm",
    // A classic worker has no import.meta; the glue only reads it to fetch the module, which the
    // inline worker is handed instead.
    define: classic ? { "import.meta.url": '"about:blank"' } : {},
    minify: true,
    write: false,
    legalComments: "none",
    target: "es2022",
    plugins,
  });
  // Inside an inline <script>, "</script" would end it.
  return result.outputFiles[0].text.replaceAll("</script", "<\\/script");
}

async function hosted() {
  const shipped = [];
  for (const file of await files(WWW)) {
    if (file.endsWith(".d.ts") || file === "service-worker.js") continue;
    await mkdir(join(DIST, file, ".."), { recursive: true });
    await cp(join(WWW, file), join(DIST, file));
    shipped.push(file);
  }
  await mkdir(join(DIST, "scenarios"), { recursive: true });
  for (const file of await files("scenarios")) {
    await cp(join("scenarios", file), join(DIST, "scenarios", file));
    shipped.push(`scenarios/${file}`);
  }
  // The page registers the worker only when built: www/ during development never caches.
  const index = await readFile(join(DIST, "index.html"), "utf8");
  await writeFile(join(DIST, "index.html"), index.replace('<html lang="en">', '<html lang="en" data-service-worker="sw.js">'));
  const hash = createHash("sha256");
  for (const file of shipped) hash.update(file).update(await readFile(join(DIST, file)));
  const list = ["./", ...shipped.map((f) => `./${f}`)];
  const worker = await readFile(join(WWW, "service-worker.js"), "utf8");
  await writeFile(
    join(DIST, "sw.js"),
    `const FILES = ${JSON.stringify(list)};\nconst VERSION = "es-sandbox-${hash.digest("hex").slice(0, 16)}";\n${worker}`,
  );
}

async function singleFile() {
  const wasm = await readFile(join(WWW, "pkg", "es_sandbox_bg.wasm"));
  // A classic script: a module worker from a blob URL did not start on a file:// page.
  const worker = await bundle(join(WWW, "query-worker.js"), { classic: true });
  const consumer = await bundle(join(WWW, "consumer-worker.js"), { classic: true });
  const source = `
import * as glue from "./pkg/es_sandbox.js";
const WASM = ${JSON.stringify(wasm.toString("base64"))};
const WORKER = ${JSON.stringify(worker)};
const CONSUMER = ${JSON.stringify(consumer)};
let compiled;
let started;
/** Decodes the inlined module, compiles it (asynchronously) and starts it with initSync, once. */
export function loadWasm() {
  started ??= (async () => {
    const bytes = Uint8Array.from(atob(WASM), (c) => c.charCodeAt(0));
    compiled = await WebAssembly.compile(bytes);
    glue.initSync({ module: compiled });
    return glue;
  })();
  return started;
}
/** Starts the query worker from a blob and hands it the compiled module. */
export function startQueryWorker() {
  const url = URL.createObjectURL(new Blob([WORKER], { type: "text/javascript" }));
  const worker = new Worker(url);
  worker.postMessage({ module: compiled });
  return worker;
}
/** Starts a consumer node's worker from a blob and hands it the compiled module. */
export function startConsumerWorker() {
  const url = URL.createObjectURL(new Blob([CONSUMER], { type: "text/javascript" }));
  const worker = new Worker(url);
  worker.postMessage({ type: "module", module: compiled });
  return worker;
}
`;
  const script = await bundle(join(WWW, "app.js"), { wasmSource: source });
  const style = await readFile(join(WWW, "style.css"), "utf8");
  let html = await readFile(join(WWW, "index.html"), "utf8");
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(script)}' 'wasm-unsafe-eval'`,
    "worker-src blob:",
    `style-src 'sha256-${sha256(style)}'`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  html = html
    .replace(/<meta http-equiv="Content-Security-Policy" content="[^"]*">/, `<meta http-equiv="Content-Security-Policy" content="${csp}">`)
    .replace(/<!-- Scripts and styles come from[\s\S]*?-->/, "<!-- One file: the page's modules, its styles and the wasm module are inline; the policy allows exactly them. -->")
    .replace('<link rel="stylesheet" href="style.css">', () => `<style>${style}</style>`)
    // Everything is inline: nothing to preload.
    .replace(/ *<!-- Every module the page imports[\s\S]*?-->\n/, "")
    .replace(/ *<link rel="(?:module)?preload"[^>]*>\n/g, "")
    .replace('<script type="module" src="app.js"></script>', () => `<script type="module">${script}</script>`);
  await writeFile(join(DIST, "es-sandbox.html"), html);
  return html;
}

await rm(DIST, { recursive: true, force: true });
await mkdir(DIST, { recursive: true });
await hosted();
const html = await singleFile();
const size = (await stat(join(DIST, "es-sandbox.html"))).size;
const kb = (n) => `${Math.round(n / 1024)} KB`;
console.error(`dist/es-sandbox.html: ${kb(size)} (${kb(gzipSync(html).length)} gzip)`);
