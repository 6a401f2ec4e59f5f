// Triggers: Lambda event source mappings with their state and last result, and the functions.
// Mappings light up once the server has ListEventSourceMappings; until then "not available".
import { lambda } from "../api.js";
import { h, replace, status } from "../dom.js";

function table(caption, columns, rows, empty) {
  return h("div", { class: "scroll" }, h("table", { class: "grid" }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: columns.length }, empty)))));
}

async function pages(path, key) {
  const items = [];
  let marker;
  do {
    const page = await lambda("GET", `${path}${marker ? `?Marker=${encodeURIComponent(marker)}` : ""}`);
    items.push(...(page[key] || []));
    marker = page.NextMarker;
  } while (marker);
  return items;
}

export async function render(view) {
  const line = status();
  const mappings = h("div", {}, h("p", { class: "muted" }, "Loading mappings…"));
  const functions = h("div");
  replace(view, h("h1", { id: "page-title" }, "Triggers"), line, mappings, functions);
  try {
    const list = await pages("/event-source-mappings", "EventSourceMappings");
    replace(mappings, table("Event source mappings", ["UUID", "Function", "Source", "State", "Batch size", "Last result", "Last modified"],
      list.map((m) => h("tr", {}, h("td", {}, h("code", {}, m.UUID)), h("td", {}, m.FunctionArn?.split(":").pop()),
        h("td", {}, h("code", {}, m.EventSourceArn)), h("td", {}, h("span", { class: `badge ${m.State}` }, m.State)),
        h("td", { class: "num" }, m.BatchSize ?? "–"), h("td", {}, m.LastProcessingResult || "–"),
        h("td", {}, m.LastModified ? new Date(m.LastModified * 1000).toLocaleString() : "–"))), "No mappings."));
  } catch (e) {
    if (!e.unavailable) line.error(e);
    replace(mappings, h("p", { class: "notice" },
      e.unavailable ? "Triggers (event source mappings) are not available on this server yet." : "Mappings could not be listed."));
  }
  try {
    const list = await pages("/functions", "Functions");
    replace(functions, table("Functions", ["Name", "Runtime", "Handler", "Last modified"],
      list.map((f) => h("tr", {}, h("th", { scope: "row" }, f.FunctionName), h("td", {}, f.Runtime), h("td", {}, f.Handler),
        h("td", {}, f.LastModified))), "No functions."));
  } catch (e) {
    line.error(e);
  }
}
