// Items: scan or query a table or one of its indexes (key condition builder, filter), page through
// the results, view and edit an item as DynamoDB JSON or plain JSON, put and delete.
import { call } from "../api.js";
import { brief, hasLossyTypes, itemFromPlain, plainItem } from "../ddbjson.js";
import { field, h, replace, select, status, uid } from "../dom.js";
import { listTableNames } from "./tables.js";

const SORT_OPERATORS = [["", "(any)"], ["=", "="], ["<", "<"], ["<=", "<="], [">", ">"], [">=", ">="],
  ["between", "between"], ["begins_with", "begins with"]];
const FILTER_OPERATORS = [["=", "="], ["<>", "≠"], ["<", "<"], ["<=", "<="], [">", ">"], [">=", ">="],
  ["begins_with", "begins with"], ["contains", "contains"], ["attribute_exists", "exists"],
  ["attribute_not_exists", "does not exist"]];
const PAGE_SIZES = ["25", "50", "100"];

export async function tablePicker(current, page) {
  const names = await listTableNames();
  const picker = select([["", "Choose a table"], ...names], current || "", { id: uid("table") });
  picker.addEventListener("change", () => { location.hash = `#/${page}/${encodeURIComponent(picker.value)}`; });
  return field("Table", picker);
}

// A tiny expression writer: every name and value goes through #n / :v placeholders
class Expression {
  constructor() { this.names = {}; this.values = {}; }
  name(n) { const p = `#n${Object.keys(this.names).length}`; this.names[p] = n; return p; }
  value(v) { const p = `:v${Object.keys(this.values).length}`; this.values[p] = v; return p; }
  into(request) {
    if (Object.keys(this.names).length) request.ExpressionAttributeNames = this.names;
    if (Object.keys(this.values).length) request.ExpressionAttributeValues = this.values;
    return request;
  }
}

function condition(expr, name, op, value, value2) {
  const n = expr.name(name);
  if (op === "between") return `${n} BETWEEN ${expr.value(value)} AND ${expr.value(value2)}`;
  if (["begins_with", "contains"].includes(op)) return `${op}(${n}, ${expr.value(value)})`;
  if (["attribute_exists", "attribute_not_exists"].includes(op)) return `${op}(${n})`;
  return `${n} ${op} ${expr.value(value)}`;
}

function filterRow(onRemove) {
  const name = h("input", { autocomplete: "off", "aria-label": "Filter attribute name", placeholder: "attribute" });
  const op = select(FILTER_OPERATORS, "=", { "aria-label": "Filter operator" });
  const type = select([["S", "String"], ["N", "Number"], ["BOOL", "Boolean"]], "S", { "aria-label": "Filter value type" });
  const value = h("input", { autocomplete: "off", "aria-label": "Filter value", placeholder: "value" });
  const element = h("div", { class: "row filter" }, name, op, type, value,
    h("button", { type: "button", "aria-label": "Remove filter", onclick: () => { element.remove(); onRemove(); } }, "×"));
  const typed = () => (type.value === "BOOL" ? { BOOL: value.value === "true" } : { [type.value]: value.value });
  return { element, write: (expr) => (name.value.trim() ? condition(expr, name.value.trim(), op.value, typed()) : null) };
}

export async function render(view, [tableName]) {
  const line = status();
  replace(view, h("h1", { id: "page-title" }, tableName ? `Items of ${tableName}` : "Items"),
    await tablePicker(tableName, "items"), line);
  if (!tableName) return;
  let table;
  try {
    table = (await call("dynamodb", "DescribeTable", { TableName: tableName })).Table;
  } catch (e) {
    line.error(e);
    return;
  }
  new Explorer(view, table, line).show();
}

class Explorer {
  constructor(view, table, line) {
    Object.assign(this, { view, table, line, pages: [undefined], page: 0, filters: [] });
    this.types = Object.fromEntries(table.AttributeDefinitions.map((d) => [d.AttributeName, d.AttributeType]));
    this.tableKeys = table.KeySchema.map((k) => k.AttributeName);
  }

  keysOf(indexName) {
    const index = [...(this.table.GlobalSecondaryIndexes || []), ...(this.table.LocalSecondaryIndexes || [])]
      .find((i) => i.IndexName === indexName);
    const schema = index ? index.KeySchema : this.table.KeySchema;
    return { hash: schema.find((k) => k.KeyType === "HASH").AttributeName,
      range: schema.find((k) => k.KeyType === "RANGE")?.AttributeName };
  }

  show() {
    const indexes = [...(this.table.GlobalSecondaryIndexes || []), ...(this.table.LocalSecondaryIndexes || [])];
    this.mode = select([["Scan", "Scan"], ["Query", "Query"]], "Scan");
    this.index = select([["", `Table ${this.table.TableName}`], ...indexes.map((i) => [i.IndexName, `Index ${i.IndexName}`])], "");
    this.hashValue = h("input", { autocomplete: "off" });
    this.sortOp = select(SORT_OPERATORS, "");
    this.sortValue = h("input", { autocomplete: "off" });
    this.sortValue2 = h("input", { autocomplete: "off" });
    this.limit = select(PAGE_SIZES, "25");
    this.keyBox = h("fieldset", { class: "keys" });
    this.filterList = h("div");
    const addFilter = () => {
      const row = filterRow(() => this.filters.splice(this.filters.indexOf(row), 1));
      this.filters.push(row);
      this.filterList.append(row.element);
    };
    for (const control of [this.mode, this.index]) control.addEventListener("change", () => this.showKeys());
    this.sortOp.addEventListener("change", () => this.showKeys());
    const form = h("form", { class: "stack query" },
      h("div", { class: "row" }, field("Operation", this.mode), field("Table or index", this.index), field("Page size", this.limit)),
      this.keyBox,
      h("fieldset", {}, h("legend", {}, "Filters"), this.filterList,
        h("button", { type: "button", onclick: addFilter }, "Add filter")),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Run"),
        h("button", { type: "button", onclick: () => this.edit(null) }, "Create item")));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.run(0, true); });
    this.results = h("div", { class: "scroll results" });
    this.pager = h("div", { class: "actions pager" });
    this.view.append(form, this.results, this.pager);
    this.showKeys();
    this.run(0, true);
  }

  showKeys() {
    const { hash, range } = this.keysOf(this.index.value);
    this.keyBox.hidden = this.mode.value !== "Query";
    replace(this.keyBox, h("legend", {}, "Key condition"),
      field(`${hash} (partition key, ${this.types[hash]}) =`, this.hashValue),
      range ? h("div", { class: "row" }, field(`${range} (sort key, ${this.types[range]})`, this.sortOp),
        this.sortOp.value ? field("Value", this.sortValue) : null,
        this.sortOp.value === "between" ? field("and", this.sortValue2) : null) : null);
  }

  request() {
    const request = { TableName: this.table.TableName, Limit: Number(this.limit.value) };
    if (this.index.value) request.IndexName = this.index.value;
    const expr = new Expression();
    if (this.mode.value === "Query") {
      const { hash, range } = this.keysOf(this.index.value);
      const parts = [condition(expr, hash, "=", { [this.types[hash]]: this.hashValue.value })];
      if (range && this.sortOp.value) {
        const t = this.types[range];
        parts.push(condition(expr, range, this.sortOp.value, { [t]: this.sortValue.value }, { [t]: this.sortValue2.value }));
      }
      request.KeyConditionExpression = parts.join(" AND ");
    }
    const filters = this.filters.map((f) => f.write(expr)).filter(Boolean);
    if (filters.length) request.FilterExpression = filters.join(" AND ");
    return expr.into(request);
  }

  async run(page, fresh) {
    if (fresh) this.pages = [undefined];
    const request = this.request();
    if (this.pages[page]) request.ExclusiveStartKey = this.pages[page];
    this.line.show("Running…");
    try {
      const answer = await call("dynamodb", this.mode.value, request);
      this.page = page;
      this.pages[page + 1] = answer.LastEvaluatedKey;
      this.showItems(answer.Items);
      this.line.show(`${answer.Count} item${answer.Count === 1 ? "" : "s"} returned, ${answer.ScannedCount} scanned (page ${page + 1})`);
    } catch (e) {
      this.line.error(e);
    }
  }

  showItems(items) {
    const columns = [...new Set([...this.tableKeys, ...items.flatMap((i) => Object.keys(i))])];
    replace(this.results, h("table", { class: "grid items" },
      h("caption", { class: "visually-hidden" }, "Items"),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: this.tableKeys.includes(c) ? "key" : "" }, c)),
        h("th", { scope: "col" }, "Actions"))),
      h("tbody", {}, items.length ? items.map((item) => h("tr", {},
        columns.map((c) => h("td", { class: this.tableKeys.includes(c) ? "key" : "" }, item[c] ? brief(item[c]) : "")),
        h("td", { class: "row-actions" },
          h("button", { type: "button", onclick: () => this.edit(item) }, "Edit"),
          h("button", { type: "button", class: "danger", onclick: () => this.remove(item) }, "Delete"))))
        : h("tr", {}, h("td", { colspan: columns.length + 1 }, "No items.")))));
    replace(this.pager,
      h("button", { type: "button", disabled: this.page === 0, onclick: () => this.run(this.page - 1) }, "Previous page"),
      h("button", { type: "button", disabled: !this.pages[this.page + 1], onclick: () => this.run(this.page + 1) }, "Next page"));
  }

  keyOf(item) {
    return Object.fromEntries(this.tableKeys.map((k) => [k, item[k]]));
  }

  async remove(item) {
    const key = this.keyOf(item);
    if (!window.confirm(`Delete the item ${JSON.stringify(plainItem(key))}?`)) return;
    try {
      await call("dynamodb", "DeleteItem", { TableName: this.table.TableName, Key: key });
      this.run(this.page);
    } catch (e) {
      this.line.error(e);
    }
  }

  edit(item) {
    const skeleton = item || Object.fromEntries(this.tableKeys.map((k) => [k, { [this.types[k]]: "" }]));
    openEditor(this.table.TableName, skeleton, !item, () => this.run(this.page));
  }
}

function openEditor(tableName, item, creating, saved) {
  let format = hasLossyTypes(item) ? "dynamodb" : "plain";
  const text = h("textarea", { rows: 16, spellcheck: "false", class: "code" });
  const line = status();
  const show = (value) => { text.value = JSON.stringify(format === "plain" ? plainItem(value) : value, null, 2); };
  const parse = () => {
    const value = JSON.parse(text.value);
    return format === "plain" ? itemFromPlain(value) : value;
  };
  const formats = h("div", { class: "segmented", role: "radiogroup", "aria-label": "Format" },
    [["dynamodb", "DynamoDB JSON"], ["plain", "Plain JSON"]].map(([value, label]) => {
      const id = uid("fmt");
      const radio = h("input", { type: "radio", name: "format", id, value, checked: value === format });
      radio.addEventListener("change", () => {
        try {
          const current = parse();
          format = value;
          show(current);
          line.show(format === "plain" && hasLossyTypes(current)
            ? "Sets and binary show as lists and strings in plain JSON: edit them as DynamoDB JSON" : "");
        } catch (e) {
          line.error(`Not valid JSON: ${e.message}`);
        }
      });
      return [radio, h("label", { for: id }, label)];
    }));
  const dialog = h("dialog", { class: "editor", "aria-labelledby": "editor-title" },
    h("form", { method: "dialog", class: "stack" },
      h("h2", { id: "editor-title" }, creating ? "Create item" : "Edit item"), formats,
      field("Item", text), line,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, "Save"))));
  dialog.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    let value;
    try {
      value = parse();
    } catch (e) {
      line.error(`Not valid JSON: ${e.message}`);
      return;
    }
    try {
      await call("dynamodb", "PutItem", { TableName: tableName, Item: value });
      dialog.close();
      saved();
    } catch (e) {
      line.error(e);
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  show(item);
  document.body.append(dialog);
  dialog.showModal();
  text.focus();
}
