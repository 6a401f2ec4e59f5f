// DynamoDB JSON <-> plain JSON, as the AWS console's "View DynamoDB JSON" switch does.
// Plain JSON has no sets and no binary: those show as lists and base64 strings, and an item that
// holds them is best edited as DynamoDB JSON (which keeps every type and every digit of a number).

export function toPlain(value) {
  const [type, v] = Object.entries(value)[0];
  switch (type) {
    case "S": case "B": return v;
    case "N": return Number(v);
    case "BOOL": return v;
    case "NULL": return null;
    case "SS": case "BS": return [...v];
    case "NS": return v.map(Number);
    case "L": return v.map(toPlain);
    case "M": return plainItem(v);
    default: throw new Error(`unknown attribute type ${type}`);
  }
}

export function plainItem(item) {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toPlain(v)]));
}

export function fromPlain(value) {
  if (value === null) return { NULL: true };
  if (typeof value === "string") return { S: value };
  if (typeof value === "number") return { N: String(value) };
  if (typeof value === "boolean") return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(fromPlain) };
  if (typeof value === "object") return { M: itemFromPlain(value) };
  throw new Error(`cannot store ${typeof value}`);
}

export function itemFromPlain(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw new Error("an item is a JSON object");
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, fromPlain(v)]));
}

export function hasLossyTypes(item) {
  return JSON.stringify(item).match(/"(SS|NS|BS|B)":/) !== null;
}

// A short, readable rendering of one attribute value, for tables of items
export function brief(value) {
  const [type, v] = Object.entries(value)[0];
  if (type === "S" || type === "N") return v;
  if (type === "NULL") return "null";
  if (type === "BOOL") return String(v);
  return JSON.stringify(toPlain(value));
}

// Typed key value from a text box: N keys take numbers, B keys base64
export function typed(type, text) {
  return { [type]: text };
}
