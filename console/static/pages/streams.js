// Streams: a live tail of a table's change events (Server-Sent Events from /console/tail, which reads
// the stream through the DynamoDB Streams API), with pause, filters, start position and shard ranges.
import { call } from "../api.js";
import { brief } from "../ddbjson.js";
import { field, h, replace, select, status, uid } from "../dom.js";
import { tablePicker } from "./items.js";
import { VIEW_TYPES } from "./tables.js";

const EVENT_NAMES = ["INSERT", "MODIFY", "REMOVE"];
const MAX_SHOWN = 500;

export async function render(view, [tableName]) {
  const line = status();
  replace(view, h("h1", { id: "page-title" }, tableName ? `Stream of ${tableName}` : "Streams"),
    await tablePicker(tableName, "streams"), line);
  if (!tableName) return null;
  let table;
  try {
    table = (await call("dynamodb", "DescribeTable", { TableName: tableName })).Table;
  } catch (e) {
    line.error(e);
    return null;
  }
  if (!table.StreamSpecification?.StreamEnabled) {
    offerStream(view, table, line);
    return null;
  }
  const tail = new Tail(view, table, line);
  tail.show();
  return () => tail.stop();
}

function offerStream(view, table, line) {
  const viewType = select(VIEW_TYPES, "NEW_AND_OLD_IMAGES");
  line.show("This table has no stream on.");
  view.append(h("form", { class: "row", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await call("dynamodb", "UpdateTable", { TableName: table.TableName,
        StreamSpecification: { StreamEnabled: true, StreamViewType: viewType.value } });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (e) {
      line.error(e);
    }
  } }, field("View type", viewType), h("button", { type: "submit", class: "primary" }, "Turn on the stream")));
}

class Tail {
  constructor(view, table, line) {
    Object.assign(this, { view, table, line, source: null, paused: false, held: [], shards: new Map() });
    this.keys = table.KeySchema.map((k) => k.AttributeName);
  }

  show() {
    const fromNow = h("input", { type: "radio", name: "start", id: "from-now", value: "LATEST", checked: true });
    const fromStart = h("input", { type: "radio", name: "start", id: "from-trim", value: "TRIM_HORIZON" });
    this.start = () => (fromStart.checked ? "TRIM_HORIZON" : "LATEST");
    this.pauseButton = h("button", { type: "button", "aria-pressed": "false", onclick: () => this.togglePause() }, "Pause");
    this.names = EVENT_NAMES.map((n) => {
      const box = h("input", { type: "checkbox", id: uid("ev"), checked: true, value: n });
      box.addEventListener("change", () => this.refilter());
      return box;
    });
    this.keyFilter = h("input", { type: "search", autocomplete: "off", placeholder: "part of a key value" });
    this.keyFilter.addEventListener("input", () => this.refilter());
    this.shardBody = h("tbody");
    this.events = h("ol", { class: "events", "aria-label": "Change events, newest first" });
    this.view.append(
      h("p", { class: "muted" }, "Stream ", h("code", {}, this.table.LatestStreamArn),
        ` · view type ${this.table.StreamSpecification.StreamViewType}`),
      h("div", { class: "toolbar" },
        h("fieldset", { class: "inline" }, h("legend", {}, "Start"),
          fromNow, h("label", { for: "from-now" }, "from now"), fromStart, h("label", { for: "from-trim" }, "from TRIM_HORIZON"),
          h("button", { type: "button", onclick: () => this.connect() }, "Restart")),
        this.pauseButton,
        h("fieldset", { class: "inline" }, h("legend", {}, "Events"),
          this.names.map((box) => [box, h("label", { for: box.id }, box.value)])),
        field("Key contains", this.keyFilter)),
      h("details", { class: "shards" }, h("summary", {}, "Shards and sequence numbers"),
        h("div", { class: "scroll" }, h("table", { class: "grid" },
          h("thead", {}, h("tr", {}, ["Shard", "Starting sequence number", "First seen", "Last seen", "Records"]
            .map((c) => h("th", { scope: "col" }, c)))), this.shardBody))),
      this.events);
    this.connect();
  }

  connect() {
    this.stop();
    replace(this.events);
    this.shards.clear();
    this.line.show("Connecting…");
    const url = `/console/tail?streamArn=${encodeURIComponent(this.table.LatestStreamArn)}&start=${this.start()}`;
    this.source = new EventSource(url);
    this.source.addEventListener("shards", (event) => {
      for (const shard of JSON.parse(event.data)) {
        this.shards.set(shard.ShardId, { start: shard.SequenceNumberRange.StartingSequenceNumber, first: null, last: null, count: 0 });
      }
      this.showShards();
      this.line.show(`Live: following ${this.shards.size} shards ${this.start() === "LATEST" ? "from now" : "from TRIM_HORIZON"}`, "live");
    });
    this.source.addEventListener("record", (event) => this.receive(JSON.parse(event.data)));
    this.source.addEventListener("api-error", (event) => {
      const error = JSON.parse(event.data);
      this.line.show(`${error.__type}: ${error.message}`, "error");
      this.stop();
    });
    this.source.addEventListener("error", () => {
      // EventSource would reconnect from the same start and show events twice: stop and say so instead
      if (!this.source) return;
      this.stop();
      this.line.show("Disconnected from the server. Restart to follow the stream again.", "error");
    });
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.setAttribute("aria-pressed", String(this.paused));
    this.pauseButton.textContent = this.paused ? "Resume" : "Pause";
    if (!this.paused) {
      for (const record of this.held.splice(0)) this.showRecord(record);
      this.line.show(`Live: following ${this.shards.size} shards`, "live");
    }
  }

  receive(record) {
    const shard = this.shards.get(record.shardId);
    if (shard) {
      const seq = record.dynamodb.SequenceNumber;
      shard.first = shard.first || seq;
      shard.last = seq;
      shard.count += 1;
      this.showShards();
    }
    if (this.paused) {
      this.held.push(record);
      this.line.show(`Paused: ${this.held.length} new event${this.held.length === 1 ? "" : "s"} held`, "warning");
      return;
    }
    this.showRecord(record);
  }

  showShards() {
    replace(this.shardBody, [...this.shards].map(([id, s]) => h("tr", {}, h("th", { scope: "row" }, h("code", {}, id)),
      h("td", {}, h("code", {}, s.start || "–")), h("td", {}, h("code", {}, s.first || "–")),
      h("td", {}, h("code", {}, s.last || "–")), h("td", { class: "num" }, s.count))));
  }

  matches(element) {
    const names = this.names.filter((b) => b.checked).map((b) => b.value);
    const key = this.keyFilter.value.trim();
    return names.includes(element.dataset.event) && (!key || element.dataset.keys.includes(key));
  }

  refilter() {
    for (const element of this.events.children) element.hidden = !this.matches(element);
  }

  showRecord(record) {
    const element = eventCard(record, this.keys);
    element.hidden = !this.matches(element);
    this.events.prepend(element);
    while (this.events.children.length > MAX_SHOWN) this.events.lastElementChild.remove();
  }
}

function image(title, item, keys, other) {
  if (!item) return h("div", { class: "image empty" }, h("h3", {}, title), h("p", { class: "muted" }, "–"));
  const names = [...keys.filter((k) => k in item), ...Object.keys(item).filter((k) => !keys.includes(k)).sort()];
  return h("div", { class: "image" }, h("h3", {}, title), h("dl", {}, names.map((n) => {
    const changed = other && JSON.stringify(other[n]) !== JSON.stringify(item[n]);
    const kind = keys.includes(n) ? "key" : changed ? "changed" : "";
    return [h("dt", { class: kind }, n, keys.includes(n) ? h("span", { class: "tag" }, "key") : null),
      h("dd", { class: kind }, brief(item[n]))];
  })));
}

export function eventCard(record, keys) {
  const d = record.dynamodb;
  const keyText = Object.entries(d.Keys).map(([k, v]) => `${k}=${brief(v)}`).join(", ");
  const when = new Date(d.ApproximateCreationDateTime * 1000).toLocaleTimeString();
  return h("li", { class: `event ${record.eventName}`, "data-event": record.eventName, "data-keys": keyText },
    h("div", { class: "event-head" }, h("span", { class: `badge ${record.eventName}` }, record.eventName),
      h("span", { class: "event-keys" }, keyText), h("span", { class: "muted" }, when),
      h("span", { class: "muted seq" }, `${record.shardId.slice(-8)} · #${d.SequenceNumber}`)),
    h("div", { class: "images" }, image("Old image", d.OldImage, keys, d.NewImage), image("New image", d.NewImage, keys, d.OldImage)));
}
