// The console's only way to the server: the same JSON the SDKs send, to the same endpoints.
// No signature: the session cookie (HttpOnly) stands for the signed-in user, or the server is open.

const SERVICES = {
  dynamodb: ["DynamoDB_20120810", "application/x-amz-json-1.0"],
  streams: ["DynamoDBStreams_20120810", "application/x-amz-json-1.0"],
  kinesis: ["Kinesis_20131202", "application/x-amz-json-1.1"],
  cloudwatch: ["GraniteServiceVersion20100801", "application/x-amz-json-1.0"],
};

export class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
  toString() {
    return this.message ? `${this.type}: ${this.message}` : this.type;
  }
  // A feature another part of the server brings (TTL, triggers) and this one does not have yet
  get unavailable() {
    return this.type === "UnknownOperationException" || this.status === 404;
  }
}

async function parse(response) {
  const text = await response.text();
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  if (!response.ok) {
    const type = (body.__type || body.Type || response.headers.get("x-amzn-errortype") || `HTTP ${response.status}`)
      .split("#").pop().split(":")[0];
    // The session ended (signed out elsewhere, or its temporary credentials expired): the shell asks again
    if (type === "MissingAuthenticationTokenException") window.dispatchEvent(new CustomEvent("session-ended"));
    throw new ApiError(type, body.message || body.Message || "", response.status);
  }
  return body;
}

export async function call(service, operation, request = {}) {
  const [prefix, contentType] = SERVICES[service];
  const response = await fetch("/", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-Amz-Target": `${prefix}.${operation}`, "Content-Type": contentType },
    body: JSON.stringify(request),
  });
  return parse(response);
}

// Lambda's REST API (functions, event source mappings)
export async function lambda(method, path, request) {
  const response = await fetch(`/2015-03-31${path}`, {
    method,
    credentials: "same-origin",
    headers: request ? { "Content-Type": "application/json" } : {},
    body: request ? JSON.stringify(request) : undefined,
  });
  return parse(response);
}

export async function session(method = "GET", form) {
  const response = await fetch("/console/session", {
    method,
    credentials: "same-origin",
    headers: form ? { "Content-Type": "application/json" } : {},
    body: form ? JSON.stringify(form) : undefined,
  });
  return parse(response);
}

// Every page of a paged List call, e.g. all table names
export async function all(service, operation, request, itemsKey, nextKey, startKey) {
  const items = [];
  let next;
  do {
    const page = await call(service, operation, next ? { ...request, [startKey]: next } : request);
    items.push(...(page[itemsKey] || []));
    next = page[nextKey];
  } while (next);
  return items;
}
