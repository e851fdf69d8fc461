"""The anchor "bare aiohttp handler": check the bearer token, parse the v4 payload, answer 200.

No store, no pipeline, no metrics. Run under the load generator it shows two things on this
machine: what aiohttp plus pydantic parsing alone can do, and the load generator's own ceiling
(whichever of the two saturates first)::

    .venv/bin/python benchmarks/bridge/bare_server.py --port 9299 &
    .venv/bin/python benchmarks/bridge/loadgen.py --url http://127.0.0.1:9299/api/v1/alertmanager \\
        --token bench-webhook-token --duration 15
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aiohttp import hdrs, web

from bridge.alertmanager import parse_payload

# The benchmark's fixed, public token (see bench_webhook.py); loopback only.
TOKEN_HEADER = "Bearer bench-webhook-token"  # noqa: S105


async def receive(request: web.Request) -> web.Response:
    if request.headers.get(hdrs.AUTHORIZATION) != TOKEN_HEADER:
        return web.Response(status=401)
    payload = parse_payload(await request.read())
    return web.json_response({"status": "parsed", "alerts": len(payload.alerts)})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9299)
    args = parser.parse_args(argv)
    app = web.Application()
    app.router.add_post("/api/v1/alertmanager", receive)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
