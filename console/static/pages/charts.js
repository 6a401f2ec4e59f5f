// Charts: writes and reads per second, stream lag and outbox backlog over the last minutes, sampled
// from GET /metrics (Prometheus text) every few seconds and drawn as small inline SVG.
import { h, replace, status } from "../dom.js";

const SAMPLE_MS = 2000;
const KEEP = 150; // five minutes of samples
const WRITES = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];
const READS = ["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"];
const SVG = "http://www.w3.org/2000/svg";
const history = []; // {t, writes, reads, published, lag, backlog}: kept while the console is open

export function parseMetrics(text) {
  const metrics = {};
  for (const line of text.split("\n")) {
    const match = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/);
    if (match) metrics[match[1] + (match[2] || "")] = Number(match[3]);
  }
  return metrics;
}

function total(metrics, operations) {
  return Object.entries(metrics).filter(([name]) => name.startsWith("cdc_bridge_requests_total{")
    && operations.includes(name.match(/\.(\w+)"/)?.[1])).reduce((sum, [, v]) => sum + v, 0);
}

async function sample() {
  const response = await fetch("/metrics", { credentials: "same-origin" });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const m = parseMetrics(await response.text());
  history.push({ t: Date.now(), writes: total(m, WRITES), reads: total(m, READS),
    published: m.cdc_bridge_events_published_total ?? 0, lag: m.cdc_bridge_outbox_oldest_age_seconds ?? 0,
    backlog: m.cdc_bridge_outbox_rows ?? 0 });
  if (history.length > KEEP) history.shift();
}

// Per-second rates of a counter between successive samples
function rates(key) {
  return history.slice(1).map((s, i) => Math.max(0, (s[key] - history[i][key]) / ((s.t - history[i].t) / 1000)));
}

// A small line chart of `values` (the newest last) in a figure; `slots`: how many values fill its
// width; `caption`: what the caption says after the title (default: the newest value and the highest)
export function chart(title, unit, values, { slots = KEEP, caption } = {}) {
  const width = 300;
  const height = 90;
  const max = Math.max(1, ...values);
  const step = width / (slots - 1);
  const offset = width - step * (values.length - 1);
  const points = values.map((v, i) => `${(offset + i * step).toFixed(1)},${(height - (v / max) * (height - 4)).toFixed(1)}`);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const last = values.length ? values.at(-1) : 0;
  svg.setAttribute("aria-label", `${title}: now ${last.toFixed(2)} ${unit}, highest ${max.toFixed(2)} over the last minutes`);
  for (const y of [0.25, 0.5, 0.75]) {
    const grid = document.createElementNS(SVG, "line");
    Object.entries({ x1: 0, x2: width, y1: height * y, y2: height * y, class: "gridline" }).forEach(([k, v]) => grid.setAttribute(k, v));
    svg.append(grid);
  }
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("class", "series");
  svg.append(line);
  return h("figure", { class: "chart card" }, h("figcaption", {}, h("strong", {}, title),
    h("span", { class: "muted" }, ` ${caption ?? `now ${last.toFixed(2)} ${unit} · max ${max.toFixed(2)}`}`)), svg);
}

export async function render(view) {
  const line = status();
  const grid = h("div", { class: "charts" });
  replace(view, h("h1", { id: "page-title" }, "Charts"),
    h("p", { class: "muted" }, "The last five minutes, sampled every two seconds from /metrics while the console is open."),
    line, grid);
  const draw = () => replace(grid,
    chart("Writes per second", "/s", rates("writes")), chart("Reads per second", "/s", rates("reads")),
    chart("Change events published per second", "/s", rates("published")),
    chart("Stream lag (oldest unpublished change)", "s", history.map((s) => s.lag)),
    chart("Outbox backlog", "rows", history.map((s) => s.backlog)));
  const tick = async () => {
    try {
      await sample();
      line.show(`${history.length} samples`);
    } catch (e) {
      line.error(e);
    }
    draw();
  };
  draw();
  await tick();
  const timer = setInterval(tick, SAMPLE_MS);
  return () => clearInterval(timer);
}
