"""Addresses: parsing ``host:port`` (IPv6 in brackets) and redacting URLs for logs."""

from __future__ import annotations


def split_host_port(value: str) -> tuple[str, int]:
    """``("127.0.0.1", 9189)`` from ``"127.0.0.1:9189"``; ``ValueError`` says what is wrong."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:9189)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{value!r}: write IPv6 addresses in brackets, e.g. [::1]:9189")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{value!r}: port must be a number from 1 to 65535")
    return host, int(port_text)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, for logs.

    The query string is hidden as a whole: libpq-style URLs may carry ``?password=``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"
    rest, question, _ = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{authority}{slash}{path}{'?***' if question else ''}"
