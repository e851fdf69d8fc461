"""``secmon-bridge``: ``serve`` the bridge, or ``check-config`` and report every problem.

Exit codes: 0 success, 1 the bridge could not start (store or Redis unreachable, port taken),
2 the configuration is invalid.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import prometheus_client
from aiohttp import web

from bridge.app import StartupError, create_app
from bridge.config import BridgeConfig
from bridge.config_loader import ConfigError, load_config
from bridge.gctune import settle_after_startup
from bridge.metrics import enable_multiprocess
from bridge.netaddr import redact_url
from bridge.workers import WorkerSlot, supervise

logger = logging.getLogger("bridge")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secmon-bridge",
        description="Receive Alertmanager webhooks, store and process secmon alerts.",
        epilog="Every config field can be set with SECMON_BRIDGE_<FIELD> (nested: __).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the bridge")
    check = commands.add_parser("check-config", help="validate the config and exit")
    for sub in (serve, check):
        sub.add_argument("--config", type=Path, help="YAML config file (optional)")
    serve.add_argument("--listen", help="host:port to listen on (overrides config and env)")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port (overrides config and env; more than one "
        "needs PostgreSQL and Redis)",
    )
    return parser


def _describe(config: BridgeConfig) -> str:
    webhook = [
        kind
        for kind, value in (("bearer", config.webhook_token), ("basic", config.webhook_basic_auth))
        if value is not None
    ]
    return (
        f"listen={config.listen} store={redact_url(config.database_url.get_secret_value())} "
        f"redis={'yes' if config.redis_url else 'no'} workers={config.workers} "
        f"webhook_auth={'+'.join(webhook) or 'NONE (insecure_no_auth)'} "
        f"max_body_bytes={config.max_body_bytes}"
    )


def serve(config: BridgeConfig) -> int:
    _configure_logging(config.log_level)
    # `*_created` series double the exposition and no dashboard reads them.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    logger.info("secmon-bridge starting: %s", _describe(config))
    if config.workers == 1:
        return _run(create_app(config), config)
    try:
        return supervise(config, _serve_worker)
    except OSError as exc:
        logger.error("cannot listen on %s: %s", config.listen, exc.strerror or exc)
        return 1


def _serve_worker(config: BridgeConfig, slot: WorkerSlot) -> int:
    """One of several workers (bridge/workers.py), in its own forked process."""
    _configure_logging(config.log_level, f"worker {slot.index} ")
    enable_multiprocess(slot.metrics_dir)
    try:
        app = create_app(config, chores=slot.runs_chores)
    except StartupError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    app.cleanup_ctx.append(slot.supervised)
    return _run(app, config, sock=slot.sock)


def _configure_logging(level: str, tag: str = "") -> None:
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(levelname)s {tag}%(name)s: %(message)s",
        force=True,
    )


def _run(app: web.Application, config: BridgeConfig, sock: socket.socket | None = None) -> int:
    where = {"sock": sock} if sock is not None else {
        "host": config.listen_host, "port": config.listen_port
    }  # fmt: skip
    app.on_startup.append(settle_after_startup)  # after the cleanup contexts started
    try:
        web.run_app(
            app,
            print=None,
            # One access-log line per webhook is noise at thousands of alerts per second;
            # the receiver logs one line per payload instead.
            access_log=None,
            **where,
        )
    except StartupError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    except OSError as exc:
        logger.error("cannot listen on %s: %s", config.listen, exc.strerror or exc)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(
            args.config,
            listen=getattr(args, "listen", None),
            workers=getattr(args, "workers", None),
        )
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"{args.config or '(environment and defaults)'}: OK ({_describe(config)})")
        return 0
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
