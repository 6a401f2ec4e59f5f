// Kinesis: streams, their shards, put a record, read a shard's records.
import { call } from "../api.js";
import { field, h, replace, select, status } from "../dom.js";

const encode = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const decode = (data) => new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));

async function streamNames() {
  const names = [];
  let more = true;
  while (more) {
    const page = await call("kinesis", "ListStreams", names.length ? { ExclusiveStartStreamName: names.at(-1) } : {});
    names.push(...page.StreamNames);
    more = page.HasMoreStreams && page.StreamNames.length > 0;
  }
  return names;
}

export async function render(view, [streamName]) {
  const line = status();
  replace(view, h("h1", { id: "page-title" }, streamName ? `Kinesis stream ${streamName}` : "Kinesis streams"), line);
  try {
    const names = await streamNames();
    const picker = select([["", "Choose a stream"], ...names], streamName || "");
    picker.addEventListener("change", () => { location.hash = `#/kinesis/${encodeURIComponent(picker.value)}`; });
    view.append(h("div", { class: "row" }, field("Stream", picker)), createForm(line));
    if (streamName) await showStream(view, streamName, line);
    else line.show(`${names.length} stream${names.length === 1 ? "" : "s"}`);
  } catch (e) {
    line.error(e);
  }
}

function createForm(line) {
  const name = h("input", { autocomplete: "off", required: true });
  const shards = h("input", { type: "number", min: 1, value: 1, required: true });
  return h("details", {}, h("summary", {}, "Create a stream"), h("form", { class: "row", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await call("kinesis", "CreateStream", { StreamName: name.value.trim(), ShardCount: Number(shards.value) });
      location.hash = `#/kinesis/${encodeURIComponent(name.value.trim())}`;
    } catch (e) {
      line.error(e);
    }
  } }, field("Stream name", name), field("Shards", shards), h("button", { type: "submit", class: "primary" }, "Create stream")));
}

async function showStream(view, streamName, line) {
  const [{ StreamDescriptionSummary: summary }, { Shards: shards }] = await Promise.all([
    call("kinesis", "DescribeStreamSummary", { StreamName: streamName }),
    call("kinesis", "ListShards", { StreamName: streamName })]);
  line.show(`${summary.StreamStatus} · ${summary.OpenShardCount} open shards · retention ${summary.RetentionPeriodHours} h`);
  const partitionKey = h("input", { autocomplete: "off", required: true });
  const data = h("textarea", { rows: 3, required: true });
  const putLine = status();
  const shardPicker = select(shards.map((s) => s.ShardId), shards[0]?.ShardId);
  const position = select(["TRIM_HORIZON", "LATEST"], "TRIM_HORIZON");
  const records = h("tbody");
  view.append(
    h("h2", {}, "Shards"),
    h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["Shard", "Hash key range", "Starting sequence number"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, shards.map((s) => h("tr", {}, h("th", { scope: "row" }, s.ShardId),
        h("td", {}, h("code", {}, `${s.HashKeyRange.StartingHashKey} – ${s.HashKeyRange.EndingHashKey}`)),
        h("td", {}, h("code", {}, s.SequenceNumberRange.StartingSequenceNumber))))))),
    h("h2", {}, "Put a record"),
    h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const r = await call("kinesis", "PutRecord", { StreamName: streamName, PartitionKey: partitionKey.value, Data: encode(data.value) });
        putLine.show(`Put in ${r.ShardId} at ${r.SequenceNumber}`);
        shardPicker.value = r.ShardId; // read it back from where it went
      } catch (e) {
        putLine.error(e);
      }
    } }, field("Partition key", partitionKey), field("Data (text)", data), putLine,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Put record"))),
    h("h2", {}, "Read records"),
    h("form", { class: "row", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const { ShardIterator } = await call("kinesis", "GetShardIterator",
          { StreamName: streamName, ShardId: shardPicker.value, ShardIteratorType: position.value });
        const page = await call("kinesis", "GetRecords", { ShardIterator, Limit: 100 });
        replace(records, page.Records.length ? page.Records.map((r) => h("tr", {}, h("td", {}, h("code", {}, r.SequenceNumber)),
          h("td", {}, r.PartitionKey), h("td", {}, decode(r.Data)),
          h("td", {}, new Date(r.ApproximateArrivalTimestamp * 1000).toLocaleString())))
          : h("tr", {}, h("td", { colspan: 4 }, "No records.")));
      } catch (e) {
        line.error(e);
      }
    } }, field("Shard", shardPicker), field("From", position), h("button", { type: "submit" }, "Read")),
    h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ["Sequence number", "Partition key", "Data", "Arrived"].map((c) => h("th", { scope: "col" }, c)))),
      records)));
}
