// A nodejs worker process: the Node.js twin of worker.py (same protocol: a request is one JSON line on
// stdin; the answer is `<mark><JSON>` on stdout after the handler's own output). Handlers may be
// async, return a promise, or take Lambda's callback; CommonJS and ES modules are both loaded.
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");
const { pathToFileURL } = require("url");

const mark = process.env._CDC_BRIDGE_MARK;
delete process.env._CDC_BRIDGE_MARK;
const root = process.env.LAMBDA_TASK_ROOT;

function failure(errorType, errorMessage, trace) {
  return { errorType, errorMessage, trace: trace || [] };
}

function fromError(err) {
  if (err instanceof Error) return failure(err.name, err.message, String(err.stack || "").split("\n"));
  return failure("Error", String(err));
}

async function loadHandler(spec) {
  const dot = spec.lastIndexOf(".");
  if (dot < 0) return [null, failure("Runtime.MalformedHandlerName", `Bad handler ${spec}`)];
  const base = path.join(root, spec.slice(0, dot));
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) return [null, failure("Runtime.ImportModuleError", `Error: Cannot find module '${spec.slice(0, dot)}'`)];
  let module;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (err) {
    return [null, failure("Runtime.ImportModuleError", `${err.name}: ${err.message}`)];
  }
  const name = spec.slice(dot + 1);
  const handler = module[name] || (module.default && module.default[name]);
  if (typeof handler !== "function") {
    return [null, failure("Runtime.HandlerNotFound", `${spec.slice(0, dot)}.${name} is undefined or not exported`)];
  }
  return [handler, null];
}

function context(request) {
  const deadline = Date.now() + request.timeout_ms;
  return {
    awsRequestId: request.id,
    invokedFunctionArn: request.arn,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function run(handler, request) {
  return new Promise((resolve) => {
    const callback = (err, result) => (err ? resolve({ error: fromError(err) }) : resolve({ result }));
    try {
      const returned = handler(JSON.parse(request.event), context(request), callback);
      if (returned && typeof returned.then === "function") {
        returned.then((result) => resolve({ result }), (err) => resolve({ error: fromError(err) }));
      }
    } catch (err) {
      resolve({ error: fromError(err) });
    }
  });
}

async function answer(handler, initError, request) {
  if (initError) return { error: initError };
  const outcome = await run(handler, request);
  if (outcome.error) {
    console.error(`${new Date().toISOString()}\t${request.id}\tERROR\tInvoke Error \t${JSON.stringify(outcome.error)}`);
    return outcome;
  }
  const text = JSON.stringify(outcome.result === undefined ? null : outcome.result);
  return { result: text === undefined ? "null" : text };
}

function watchParent() {
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.exit(1); }, 1000).unref();
}

async function main() {
  watchParent();
  process.chdir(root);
  const [handler, initError] = await loadHandler(process.env._HANDLER);
  process.stdout.write(mark + JSON.stringify({ ready: true }) + "\n"); // init done: the Timeout starts
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    const request = JSON.parse(line);
    const reply = await answer(handler, initError, request);
    reply.max_rss_kb = Math.round(process.memoryUsage().rss / 1024);
    process.stdout.write(mark + JSON.stringify(reply) + "\n");
  }
}

main();
