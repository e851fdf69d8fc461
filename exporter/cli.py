"""``secmon-exporter``: serve metrics, check a config, check or compile detection rules.

Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or rules (so scripts and
CI can tell "fix your YAML" from "something broke").
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry, disable_created_metrics

from exporter.collectors.registry import build_collector
from exporter.config import ConfigError, ExporterConfig, load_config, parse_listen
from exporter.exposition import Cached, Exposition
from exporter.http import create_app
from exporter.inventory import Inventory, InventoryError
from exporter.runtime import DetectionSink, Enricher, Runtime, Scheduled

log = logging.getLogger("exporter")


def build_runtime(
    config: ExporterConfig,
    registry: CollectorRegistry,
    detection: DetectionSink | None,
    *,
    enricher: Enricher | None = None,
    after_poll: Callable[[], None] | None = None,
) -> Runtime:
    """Collectors for every enabled config entry, wired to one registry and detection."""
    scheduled = [
        Scheduled(collector=build_collector(c), type=c.type, timeout=c.timeout)
        for c in config.enabled_collectors
    ]
    return Runtime(
        scheduled,
        registry=registry,
        detection=detection,
        enricher=enricher,
        after_poll=after_poll,
    )


async def serve(config: ExporterConfig, listen: str) -> int:
    from exporter.detection import DetectionState, RuleLoadError

    try:
        detection = DetectionState.from_paths(config.rules.paths)
    except RuleLoadError as exc:
        print(f"invalid rules:\n{exc}", file=sys.stderr)
        return 2
    # ``*_created`` series double every counter for no benefit on a scrape target like this one.
    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
    try:
        inventory = Inventory.from_config(
            config.inventory,
            violations=detection.violations,
            violations_version=detection.version,
        )
    except InventoryError as exc:
        print(f"invalid asset inventory:\n{exc}", file=sys.stderr)
        return 2
    registry = CollectorRegistry(auto_describe=True)
    registry.register(detection)
    registry.register(inventory)
    # /metrics pre-rendered per change; the same collectors as the registry, in its order.
    exposition = Exposition([Cached(detection), Cached(inventory)])
    runtime = build_runtime(
        config, registry, detection, enricher=inventory, after_poll=exposition.refresh
    )
    exposition.add(*runtime.exposition_parts())
    host, port = parse_listen(listen)
    app = create_app(runtime=runtime, registry=registry, inventory=inventory, exposition=exposition)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("listening on http://%s:%d with %d collector(s)", host, port, len(runtime.states))
        await stop.wait()
        log.info("shutting down")
    except OSError as exc:
        log.error("cannot listen on %s: %s", listen, exc.strerror)
        return 1
    finally:
        await runner.cleanup()
    return 0


def _load(path: str | None) -> ExporterConfig | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"invalid configuration ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _cmd_serve(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    listen = args.listen or config.listen
    try:
        parse_listen(listen)
    except ValueError as exc:
        print(f"--listen: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(config, listen))


def _cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    names = ", ".join(f"{c.name} ({c.type})" for c in config.collectors) or "none"
    print(f"{args.config or '(environment only)'}: OK; listen {config.listen}; collectors: {names}")
    return 0


def _cmd_rules_check(args: argparse.Namespace) -> int:
    from exporter.detection.commands import check_command

    return check_command(args.paths or ["rules"])


def _cmd_rules_compile(args: argparse.Namespace) -> int:
    from exporter.detection.commands import compile_command

    return compile_command(args.paths, args.output)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secmon-exporter", description="Security metrics for Prometheus."
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_p = commands.add_parser("serve", help="poll collectors and serve /metrics")
    serve_p.add_argument("--config", metavar="FILE", help="YAML config (env overrides it)")
    serve_p.add_argument("--listen", metavar="HOST:PORT", help="overrides config and env")
    serve_p.set_defaults(func=_cmd_serve)

    check_p = commands.add_parser("check-config", help="validate a config, report every error")
    check_p.add_argument("--config", metavar="FILE")
    check_p.set_defaults(func=_cmd_check_config)

    rules_p = commands.add_parser("rules", help="detection rule tools")
    rules_cmds = rules_p.add_subparsers(dest="rules_command", required=True)
    rcheck = rules_cmds.add_parser("check", help="validate rule files (default: rules/)")
    rcheck.add_argument("paths", nargs="*", metavar="PATH")
    rcheck.set_defaults(func=_cmd_rules_check)
    rcompile = rules_cmds.add_parser("compile", help="compile rules to Prometheus alerting rules")
    rcompile.add_argument("paths", nargs="+", metavar="PATH")
    rcompile.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    rcompile.set_defaults(func=_cmd_rules_compile)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
