// frame.html: one <es-sandbox> filling an iframe, its choices taken from the URL's parameters
// (scenario, panels, storage, namespace, theme, height, readonly, compact), without page chrome.
import "./embed.js";

const params = new URLSearchParams(location.search);
const sandbox = document.createElement("es-sandbox");
for (const name of ["scenario", "panels", "storage", "namespace", "theme", "height"]) {
  if (params.has(name)) sandbox.setAttribute(name, params.get(name));
}
for (const flag of ["readonly", "compact"]) {
  if (params.has(flag) && params.get(flag) !== "false") sandbox.setAttribute(flag, "");
}
sandbox.setAttribute("eager", "");
document.body.append(sandbox);
