"""``secmon-bridge``: ``serve`` the bridge, or ``check-config`` and report every problem.

Exit codes: 0 success, 1 the bridge could not start (store or Redis unreachable, port taken),
2 the configuration is invalid.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import prometheus_client
from aiohttp import web

from bridge.app import StartupError, create_app
from bridge.config import BridgeConfig
from bridge.config_loader import ConfigError, load_config
from bridge.netaddr import redact_url

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
    return parser


def _describe(config: BridgeConfig) -> str:
    webhook = [
        kind
        for kind, value in (("bearer", config.webhook_token), ("basic", config.webhook_basic_auth))
        if value is not None
    ]
    return (
        f"listen={config.listen} store={redact_url(config.database_url.get_secret_value())} "
        f"redis={'yes' if config.redis_url else 'no'} "
        f"webhook_auth={'+'.join(webhook) or 'NONE (insecure_no_auth)'} "
        f"max_body_bytes={config.max_body_bytes}"
    )


def serve(config: BridgeConfig) -> int:
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # `*_created` series double the exposition and no dashboard reads them.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    logger.info("secmon-bridge starting: %s", _describe(config))
    try:
        web.run_app(
            create_app(config),
            host=config.listen_host,
            port=config.listen_port,
            print=None,
            # One access-log line per webhook is noise at thousands of alerts per second;
            # the receiver logs one line per payload instead.
            access_log=None,
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
        config = load_config(args.config, listen=getattr(args, "listen", None))
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"{args.config or '(environment and defaults)'}: OK ({_describe(config)})")
        return 0
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
