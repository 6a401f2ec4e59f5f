// Tables: the list, the create form (the study guide's console steps) and a table's detail.
import { call } from "../api.js";
import { bytes, confirmByName, field, h, replace, select, status } from "../dom.js";
import { tableMetrics } from "./table_metrics.js";

const KEY_TYPES = [["S", "String"], ["N", "Number"], ["B", "Binary"]];
export const VIEW_TYPES = ["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"];

export async function listTableNames() {
  const names = [];
  let start;
  do {
    const page = await call("dynamodb", "ListTables", start ? { ExclusiveStartTableName: start } : {});
    names.push(...page.TableNames);
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
}

// TTL as DescribeTimeToLive says, or "not available" while this server has no such operation (and
// "not allowed" when the user's policies deny it: the rest of the table is still worth showing)
export async function ttlStatus(name) {
  try {
    const { TimeToLiveDescription: ttl } = await call("dynamodb", "DescribeTimeToLive", { TableName: name });
    return ttl.TimeToLiveStatus === "DISABLED" ? "Off" : `${ttl.TimeToLiveStatus} (${ttl.AttributeName})`;
  } catch (e) {
    if (e.unavailable) return "not available";
    if (e.type === "AccessDeniedException") return "not allowed";
    throw e;
  }
}

export function streamText(table) {
  const spec = table.StreamSpecification;
  return spec && spec.StreamEnabled ? spec.StreamViewType : "Off";
}

export async function render(view, [name]) {
  if (name) return detail(view, name);
  const line = status();
  const body = h("tbody");
  replace(view,
    h("div", { class: "title" }, h("h1", { id: "page-title" }, "Tables"),
      h("a", { class: "button primary", href: "#/create" }, "Create table")),
    line,
    h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("caption", { class: "visually-hidden" }, "Tables of this server"),
      h("thead", {}, h("tr", {}, ["Name", "Status", "Items", "Size", "Capacity mode", "Stream", "TTL"]
        .map((c) => h("th", { scope: "col" }, c)))),
      body)));
  line.show("Loading tables…");
  try {
    const names = await listTableNames();
    const rows = await Promise.all(names.map(async (n) => {
      const [{ Table: t }, ttl] = await Promise.all([call("dynamodb", "DescribeTable", { TableName: n }), ttlStatus(n)]);
      return h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `#/tables/${encodeURIComponent(n)}` }, n)),
        h("td", {}, h("span", { class: `badge ${t.TableStatus}` }, t.TableStatus)),
        h("td", { class: "num" }, t.ItemCount), h("td", { class: "num" }, bytes(t.TableSizeBytes)),
        h("td", {}, capacityText(t)), h("td", {}, streamText(t)), h("td", {}, ttl));
    }));
    replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 7 }, "No tables yet. Create one.")));
    line.show(`${names.length} table${names.length === 1 ? "" : "s"}`);
  } catch (e) {
    line.error(e);
  }
}

function capacityText(table) {
  const mode = table.BillingModeSummary?.BillingMode || "PROVISIONED";
  if (mode === "PAY_PER_REQUEST") return "On-demand";
  const p = table.ProvisionedThroughput || {};
  return `Provisioned (${p.ReadCapacityUnits ?? "?"} RCU, ${p.WriteCapacityUnits ?? "?"} WCU)`;
}

function keyFields(role, optional) {
  const name = h("input", { name: `${role}-name`, autocomplete: "off", required: !optional });
  const type = select(KEY_TYPES, "S", { name: `${role}-type` });
  const label = role === "partition" ? "Partition key" : `Sort key${optional ? " (optional)" : ""}`;
  return { name, type, element: h("div", { class: "row" }, field(label, name), field(`${label} type`, type)) };
}

function indexRow(kind, onRemove) {
  const name = h("input", { autocomplete: "off", required: true });
  const partition = kind === "GSI" ? keyFields("partition", false) : null;
  const sort = keyFields("sort", kind === "GSI");
  const projection = select(["ALL", "KEYS_ONLY"], "ALL");
  const element = h("fieldset", { class: "index" },
    h("legend", {}, kind === "GSI" ? "Global secondary index" : "Local secondary index"),
    field("Index name", name), partition?.element, sort.element, field("Projected attributes", projection),
    h("button", { type: "button", onclick: () => { element.remove(); onRemove(); } }, "Remove index"));
  return { kind, name, partition, sort, projection, element };
}

function keySchema(partition, sort, definitions) {
  const schema = [];
  for (const [key, role] of [[partition, "HASH"], [sort, "RANGE"]]) {
    if (!key || !key.name.value.trim()) continue;
    schema.push({ AttributeName: key.name.value.trim(), KeyType: role });
    definitions.set(key.name.value.trim(), key.type.value);
  }
  return schema;
}

export function renderCreate(view) {
  const line = status();
  const name = h("input", { name: "table-name", autocomplete: "off", required: true, minlength: 3, maxlength: 255 });
  const partition = keyFields("partition", false);
  const sort = keyFields("sort", true);
  const indexes = [];
  const indexList = h("div");
  const addIndex = (kind) => {
    const row = indexRow(kind, () => indexes.splice(indexes.indexOf(row), 1));
    indexes.push(row);
    indexList.append(row.element);
    row.name.focus();
  };
  const onDemand = h("input", { type: "radio", name: "capacity", value: "PAY_PER_REQUEST", checked: true, id: "cap-od" });
  const provisioned = h("input", { type: "radio", name: "capacity", value: "PROVISIONED", id: "cap-pr" });
  const rcu = h("input", { type: "number", min: 1, value: 5, name: "rcu" });
  const wcu = h("input", { type: "number", min: 1, value: 5, name: "wcu" });
  const units = h("div", { class: "row", hidden: true }, field("Read capacity units", rcu), field("Write capacity units", wcu));
  for (const radio of [onDemand, provisioned]) radio.addEventListener("change", () => { units.hidden = onDemand.checked; });
  const streamOn = h("input", { type: "checkbox", id: "stream-on", name: "stream-on" });
  const viewType = select(VIEW_TYPES, "NEW_AND_OLD_IMAGES", { name: "view-type" });
  const ttl = h("input", { name: "ttl-attribute", autocomplete: "off" });

  const form = h("form", { class: "stack", novalidate: false },
    h("fieldset", {}, h("legend", {}, "Table details"), field("Table name", name), partition.element, sort.element),
    h("fieldset", {}, h("legend", {}, "Secondary indexes"), indexList,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => addIndex("GSI") }, "Add global index"),
        h("button", { type: "button", onclick: () => addIndex("LSI") }, "Add local index"))),
    h("fieldset", {}, h("legend", {}, "Capacity mode"),
      h("div", { class: "choice" }, onDemand, h("label", { for: "cap-od" }, "On-demand")),
      h("div", { class: "choice" }, provisioned, h("label", { for: "cap-pr" }, "Provisioned")), units),
    h("fieldset", {}, h("legend", {}, "DynamoDB stream"),
      h("div", { class: "choice" }, streamOn, h("label", { for: "stream-on" }, "Turn on the stream")),
      field("View type", viewType)),
    h("fieldset", {}, h("legend", {}, "Time to Live"),
      field("TTL attribute (optional)", ttl, "An attribute holding an expiry time in epoch seconds")),
    line,
    h("div", { class: "actions" }, h("a", { class: "button", href: "#/tables" }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, "Create table")));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const definitions = new Map();
    const request = {
      TableName: name.value.trim(),
      KeySchema: keySchema(partition, sort, definitions),
      BillingMode: onDemand.checked ? "PAY_PER_REQUEST" : "PROVISIONED",
    };
    if (provisioned.checked) {
      request.ProvisionedThroughput = { ReadCapacityUnits: Number(rcu.value), WriteCapacityUnits: Number(wcu.value) };
    }
    for (const kind of ["GSI", "LSI"]) {
      const rows = indexes.filter((i) => i.kind === kind).map((i) => {
        const index = {
          IndexName: i.name.value.trim(),
          KeySchema: keySchema(i.partition || partition, i.sort, definitions),
          Projection: { ProjectionType: i.projection.value },
        };
        if (kind === "GSI" && provisioned.checked) index.ProvisionedThroughput = request.ProvisionedThroughput;
        return index;
      });
      if (rows.length) request[kind === "GSI" ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes"] = rows;
    }
    request.AttributeDefinitions = [...definitions].map(([n, t]) => ({ AttributeName: n, AttributeType: t }));
    if (streamOn.checked) request.StreamSpecification = { StreamEnabled: true, StreamViewType: viewType.value };
    line.show("Creating…");
    try {
      await call("dynamodb", "CreateTable", request);
      if (ttl.value.trim()) await enableTtl(request.TableName, ttl.value.trim(), line);
      location.hash = `#/tables/${encodeURIComponent(request.TableName)}`;
    } catch (e) {
      line.error(e);
    }
  });
  replace(view, h("h1", { id: "page-title" }, "Create table"), form);
  name.focus();
}

async function waitActive(name) {
  for (let i = 0; i < 50; i += 1) {
    const { Table } = await call("dynamodb", "DescribeTable", { TableName: name });
    if (Table.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function enableTtl(name, attribute, line) {
  await waitActive(name);
  try {
    await call("dynamodb", "UpdateTimeToLive",
      { TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: attribute } });
  } catch (e) {
    if (!e.unavailable) throw e;
    line.show("Table created; Time to Live is not available on this server yet.", "warning");
    await new Promise((r) => setTimeout(r, 1500));
  }
}

function definitionList(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "–")]));
}

function keysText(schema) {
  return schema.map((k) => `${k.AttributeName} (${k.KeyType === "HASH" ? "partition" : "sort"})`).join(", ");
}

async function detail(view, name) {
  const line = status();
  replace(view, h("h1", { id: "page-title" }, name), line);
  try {
    const [{ Table: t }, ttl] = await Promise.all([call("dynamodb", "DescribeTable", { TableName: name }), ttlStatus(name)]);
    const types = Object.fromEntries(t.AttributeDefinitions.map((d) => [d.AttributeName, d.AttributeType]));
    const indexes = [...(t.GlobalSecondaryIndexes || []).map((i) => ["Global", i]),
      ...(t.LocalSecondaryIndexes || []).map((i) => ["Local", i])];
    const link = (href, text) => h("a", { class: "button", href }, text);
    const metrics = tableMetrics(name);
    const enc = encodeURIComponent(name);
    view.append(
      h("div", { class: "actions" }, link(`#/items/${enc}`, "Explore items"), link(`#/streams/${enc}`, "Live tail"),
        h("button", { type: "button", class: "danger", onclick: () => remove(name, line) }, "Delete table")),
      h("div", { class: "cards" },
        h("section", { class: "card" }, h("h2", {}, "Overview"), definitionList([
          ["Status", t.TableStatus], ["Items", t.ItemCount], ["Size", bytes(t.TableSizeBytes)],
          ["Capacity mode", capacityText(t)], ["Created", new Date(t.CreationDateTime * 1000).toLocaleString()],
          ["ARN", h("code", {}, t.TableArn)]])),
        h("section", { class: "card" }, h("h2", {}, "Keys"), definitionList(t.KeySchema.map((k) =>
          [k.KeyType === "HASH" ? "Partition key" : "Sort key", `${k.AttributeName} (${types[k.AttributeName]})`]))),
        h("section", { class: "card" }, h("h2", {}, "Stream and TTL"), definitionList([
          ["Stream", streamText(t)], ["Latest stream ARN", t.LatestStreamArn ? h("code", {}, t.LatestStreamArn) : "–"],
          ["Time to Live", ttl]]))),
      h("h2", {}, "Indexes"),
      indexes.length ? h("div", { class: "scroll" }, h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, ["Name", "Kind", "Keys", "Projection", "Status", "Items"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, indexes.map(([kind, i]) => h("tr", {}, h("th", { scope: "row" }, i.IndexName), h("td", {}, kind),
          h("td", {}, keysText(i.KeySchema)), h("td", {}, i.Projection.ProjectionType),
          h("td", {}, i.IndexStatus || "ACTIVE"), h("td", { class: "num" }, i.ItemCount ?? "–"))))))
        : h("p", { class: "muted" }, "No secondary indexes."),
      metrics.section,
      h("p", {}, h("a", { href: "#/charts" }, "Writes, reads, stream lag and outbox backlog in Charts")));
    return metrics.stop;
  } catch (e) {
    line.error(e);
  }
}

async function remove(name, line) {
  if (!(await confirmByName("table", name))) return;
  try {
    await call("dynamodb", "DeleteTable", { TableName: name });
    location.hash = "#/tables";
  } catch (e) {
    line.error(e);
  }
}
