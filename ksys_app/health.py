"""`/api/health`: is the dashboard serving data? For container health checks and `make demo`.

200 with {"db": "ok", "tags": N, "newest": ISO time} when the snapshot read works, and
"ingest": [...] (each `ksys ingest` instance: alive, rates, lag, spool, refusals) where it runs;
503 with the error code otherwise (a stale cached snapshot counts as down); an
error no retry can fix (wrong password, unknown database, bad setting) adds
"permanent": true and the "fix".
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ksys_app.data.repository import get_repository


async def health(_request: Request) -> JSONResponse:
    result = await get_repository().latest()
    if result.failed or result.stale:
        code = result.error.code if result.error else "DB_CONN"
        body = {"db": str(code), "tags": len(result.rows)}
        if result.error is not None and result.error.permanent:
            body.update(permanent=True, fix=result.error.fix)
        return JSONResponse(body, status_code=503)
    newest = max((row.ts for row in result.rows), default=None)
    body = {"db": "ok", "tags": len(result.rows), "newest": newest.isoformat() if newest else None}
    # `ksys ingest` where it runs: its rates, lag, spool and refusals (not the dashboard's
    # health: readings may also come from Node-RED, and a dashboard without ingest serves)
    ingest = await get_repository().ingest_health()
    if ingest.rows:
        body["ingest"] = list(ingest.rows)
    return JSONResponse(body)


health_api = Starlette(routes=[Route("/api/health", health)])
