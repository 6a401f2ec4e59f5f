"""A python3.x worker process: imports the function's handler once, then runs one invocation per
request line it reads, as Lambda's Python runtime does; it says when the handler is loaded. Run by path (`python -u worker.py`) with
the function's code directory as working directory; standard library only, since the handler's
code, not ours, owns `sys.path`.

Protocol with the runner (runner.py): a request is one JSON line on the worker's stdin; everything
the worker and the handler write to stdout and stderr is the function's log, and the answer to a
request is one line in that same stream, `<mark><JSON>`, written after the handler's own output
was flushed, so the runner knows that the log lines before it belong to the invocation.
"""

import json
import logging
import os
import resource
import sys
import threading
import time
import traceback

LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"


class LambdaContext:
    """The `context` argument, with the attributes and method of Lambda's Python runtime."""

    def __init__(self, request: dict):
        self.aws_request_id = request["id"]
        self.invoked_function_arn = request["arn"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a str, as in Lambda
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.client_context = request.get("client_context")
        self.identity = None
        self._deadline_ms = time.time() * 1000 + request["timeout_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def failure(error_type: str, message: str, trace: list[str] | None = None) -> dict:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": trace or []}


def load_handler(spec: str):
    """(handler, None) or (None, Lambda's init error)."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return None, failure("Runtime.MalformedHandlerName",
                             f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    module_name = module_name.replace("/", ".")
    try:
        module = __import__(module_name, fromlist=["_"])
    except SyntaxError as exc:
        return None, failure("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
    except ImportError as exc:
        return None, failure("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except Exception as exc:  # noqa: BLE001 -- the module raised while imported: the invocation's error
        trace = traceback.format_list(traceback.extract_tb(exc.__traceback__))
        return None, failure(type(exc).__name__, str(exc), trace)
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, failure("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler, None


def invoke(handler, request: dict) -> dict:
    try:
        event = json.loads(request["event"])
        result = handler(event, LambdaContext(request))
    except Exception as exc:  # noqa: BLE001 -- whatever the handler raised is its error payload
        trace = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])  # not this frame
        error = failure(type(exc).__name__, str(exc), trace)
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", flush=True)
        return {"error": {**error, "requestId": request["id"]}}
    try:
        return {"result": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        return {"error": failure("Runtime.MarshalError", f"Unable to marshal response: {exc}")}


def watch_parent() -> None:
    """Exit when the server is gone (killed), even in the middle of a handler that never returns."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    mark = os.environ.pop("_CDC_BRIDGE_MARK")
    requests = os.fdopen(os.dup(0), "rb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the handler's stdin is empty, as on Lambda
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]  # not this file's directory: the function's code
    request_id = RequestIdFilter()
    log_handler = logging.StreamHandler(sys.stdout)
    log_handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    log_handler.formatter.converter = time.gmtime
    log_handler.addFilter(request_id)
    logging.getLogger().addHandler(log_handler)
    watch_parent()
    handler, init_error = load_handler(os.environ["_HANDLER"])
    sys.stdout.write(mark + json.dumps({"ready": True}) + "\n")  # init done: the runner starts the Timeout
    sys.stdout.flush()
    for line in requests:
        request = json.loads(line)
        request_id.request_id = request["id"]
        answer = {"error": init_error} if init_error else invoke(handler, request)
        answer["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sys.stderr.flush()
        sys.stdout.write(mark + json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
