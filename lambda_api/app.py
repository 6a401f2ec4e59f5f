"""Lambda as a part of the server: its REST routes (`/2015-03-31/...`), the function store under the
data directory and the runner. Starts after the CloudWatch Logs part, whose store its workers
write to."""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer
from lambda_api.authorization import checks
from lambda_api.context import LambdaContext, no_role_credentials
from lambda_api.functions import FunctionStore
from lambda_api.mappings import MappingStore
from lambda_api.operations import event_source_mappings, functions, invoke  # noqa: F401  (they register operations)
from lambda_api.operations.service import SERVICE
from lambda_api.runner import Runner
from lambda_api.settings import Settings

SERVICE.authorization = checks

API_PREFIXES = ("/2015-03-31", "/2014-11-13")  # every Lambda path of the model starts with an API date
PACKAGE_FILE = re.compile(r"[0-9a-f]{64}\.zip")
# Lambda takes requests up to this size on these paths: a 50 MB zip, base64, in CreateFunction's JSON
MAX_REQUEST_BYTES = 69_905_067


class LambdaApi:
    name = "lambda"
    services: ClassVar[list] = []  # REST-JSON: served by `routers`, not by POST /
    body_limits: ClassVar[dict] = {"/2015-03-31/functions": MAX_REQUEST_BYTES}  # the server's Screen lets these through

    def __init__(self, settings: Settings, role_credentials=no_role_credentials):
        self.settings = settings
        self.role_credentials = role_credentials  # the gate's: see LambdaContext
        self.context: LambdaContext | None = None
        self.producer: RecordProducer | None = None  # the mappings' writes
        self.routers = [SERVICE.router(lambda: self.context, API_PREFIXES), self.package_router()]

    def start(self, env: dict[str, Any]) -> None:
        store = FunctionStore(self.settings)
        store.load()
        runner = Runner(env["log_store"], self.handler_environment(), self.settings.idle_worker_seconds)
        self.context = LambdaContext(self.settings, store, runner, self.role_credentials,
                                     mappings=self.mapping_store(env["kafka_bootstrap_servers"]))
        env["lambda"] = self.context  # for parts that run functions (event source mappings)

    def mapping_store(self, bootstrap_servers: str) -> MappingStore:
        kafka = Kafka(bootstrap_servers)
        self.producer = RecordProducer(kafka)
        mappings = MappingStore(kafka, self.producer, self.settings.root / "event-source-mappings.json")
        mappings.start()
        return mappings

    def handler_environment(self) -> dict[str, str]:
        """What every worker gets so that its SDK calls come back to this server. Any key is accepted
        while the server has no credentials file (see the README's Security section)."""
        region = self.settings.region
        return {"AWS_ENDPOINT_URL": self.settings.endpoint_url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
                "AWS_ACCESS_KEY_ID": "cdc-bridge-lambda", "AWS_SECRET_ACCESS_KEY": "cdc-bridge-lambda",
                "AWS_SESSION_TOKEN": "cdc-bridge-lambda"}

    def stop(self) -> None:
        if self.context is not None:
            self.context.mappings.stop()
            self.producer.close()
            self.context.runner.stop()

    def health(self) -> dict[str, Any]:
        return {"functions": len(self.context.functions.functions), "directory": str(self.settings.root),
                **self.context.runner.health()}

    def package_router(self) -> APIRouter:
        """GetFunction's Code.Location: the function's deployment package, as uploaded."""
        router = APIRouter()

        @router.get("/_cdc_bridge/lambda/{name}/{file}", include_in_schema=False)
        async def package(name: str, file: str, request: Request) -> Response:
            function = self.context.functions.get(name) if self.context else None
            if function is None or not PACKAGE_FILE.fullmatch(file) or file != f"{function.code_hex}.zip":
                return Response(status_code=404)
            refusal = self.context.package_links.refusal(functions.package_path(name, function.code_hex),
                                                         dict(request.query_params), time.time())
            if refusal is not None:  # as S3 refuses a presigned URL
                body = f"<Error><Code>AccessDenied</Code><Message>{refusal}</Message></Error>"
                return Response(body, status_code=403, media_type="application/xml")
            return FileResponse(self.context.functions.directory(name) / file, media_type="application/zip")

        return router
