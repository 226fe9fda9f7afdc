// Small line charts drawn as SVG: the state's numbers over versions and the replay cost's
// saw-tooth. Hand-drawn rather than a charting library: two charts of at most 500 points need
// scales, a polyline and clickable points, about a hundred lines with no dependency and no inline
// script or style for the Content-Security-Policy to allow.
import { formatCount, svg } from "./view.js";

const WIDTH = 560;
const HEIGHT = 180;
const PAD = { left: 56, right: 12, top: 12, bottom: 30 };

/** A round step for an axis spanning `span`. */
function niceStep(span) {
  const raw = span / 4;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].find((m) => m * power >= raw) ?? 10;
  return step * power;
}

/**
 * A line chart. `series`: [{ name, points: [[x, y], ...], kind }] (kind styles the line: "a",
 * "b", ...); `xLabel`, `yLabel`; `cursor`: an x to mark; `marks`: [{ x, label }] vertical ticks;
 * `onPick(point, series)`: called when a point is clicked or chosen with the keyboard;
 * `title`: what the chart shows, for screen readers. The chart's `moveCursor(x)` moves the
 * cursor without drawing the rest again (the time-travel slider moves it often).
 */
export function lineChart({ series, xLabel, yLabel, cursor, marks = [], onPick, title }) {
  const all = series.flatMap((s) => s.points).filter(([, y]) => y !== null && y !== undefined);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = [Math.min(0, ...xs), Math.max(1, ...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(1, ...ys)];
  const sx = (x) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (WIDTH - PAD.left - PAD.right);
  const sy = (y) => HEIGHT - PAD.bottom - ((y - y0) / (y1 - y0 || 1)) * (HEIGHT - PAD.top - PAD.bottom);
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-label": title });
  root.append(svg("title", {}, title));
  // Axes with a few round ticks.
  const axes = svg("g", { class: "axes" });
  axes.append(svg("line", { x1: PAD.left, y1: sy(y0), x2: WIDTH - PAD.right, y2: sy(y0) }));
  axes.append(svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: HEIGHT - PAD.bottom }));
  const yStep = niceStep(y1 - y0);
  for (let y = Math.ceil(y0 / yStep) * yStep; y <= y1; y += yStep) {
    axes.append(svg("line", { class: "grid", x1: PAD.left, y1: sy(y), x2: WIDTH - PAD.right, y2: sy(y) }));
    axes.append(svg("text", { x: PAD.left - 6, y: sy(y) + 4, "text-anchor": "end" }, formatCount(y)));
  }
  const xStep = Math.max(1, niceStep(x1 - x0));
  for (let x = Math.ceil(x0 / xStep) * xStep; x <= x1; x += xStep) {
    axes.append(svg("text", { x: sx(x), y: HEIGHT - PAD.bottom + 14, "text-anchor": "middle" }, formatCount(x)));
  }
  axes.append(svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 2, "text-anchor": "end", class: "label" }, xLabel));
  axes.append(svg("text", { x: 4, y: PAD.top - 2, class: "label" }, yLabel));
  root.append(axes);
  for (const mark of marks) {
    root.append(
      svg("line", { class: `mark ${mark.kind ?? ""}`, x1: sx(mark.x), y1: PAD.top, x2: sx(mark.x), y2: HEIGHT - PAD.bottom }, svg("title", {}, mark.label)),
    );
  }
  const cursorLine = svg("line", { class: "cursor", x1: 0, y1: PAD.top, x2: 0, y2: HEIGHT - PAD.bottom });
  root.moveCursor = (x) => {
    cursorLine.toggleAttribute("hidden", x === undefined);
    if (x === undefined) return;
    cursorLine.setAttribute("x1", sx(x));
    cursorLine.setAttribute("x2", sx(x));
  };
  root.moveCursor(cursor);
  root.append(cursorLine);
  for (const line of series) {
    const points = line.points.filter(([, y]) => y !== null && y !== undefined);
    root.append(
      svg("polyline", {
        class: `series ${line.kind ?? "a"}`,
        points: points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" "),
      }),
    );
    if (!onPick) continue;
    const dots = svg("g", { class: `dots ${line.kind ?? "a"}` });
    // A few points are keyboard stops; for many, the time-travel slider does the same job.
    const focusable = points.length <= 30 ? 0 : undefined;
    for (const point of points) {
      const [x, y] = point;
      const dot = svg("circle", { cx: sx(x), cy: sy(y), r: 4, tabindex: focusable, role: "button", "aria-label": `${line.name} ${y} at ${xLabel} ${x}` });
      dot.append(svg("title", {}, `${line.name} ${formatCount(y)} at ${xLabel} ${x}`));
      dot.addEventListener("click", () => onPick(point, line));
      dot.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onPick(point, line);
        }
      });
      dots.append(dot);
    }
    root.append(dots);
  }
  const legend = svg("g", { class: "legend" });
  series.forEach((line, index) => {
    const x = PAD.left + 8 + index * 150;
    legend.append(svg("line", { class: `series ${line.kind ?? "a"}`, x1: x, y1: PAD.top + 6, x2: x + 16, y2: PAD.top + 6 }));
    legend.append(svg("text", { x: x + 20, y: PAD.top + 10 }, line.name));
  });
  root.append(legend);
  return root;
}
