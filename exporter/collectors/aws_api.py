"""boto3 plumbing for the AWS collector: sessions, clients, one call wrapper, error mapping.

boto3 is synchronous, so every call runs in ``asyncio.to_thread``. Credentials come from the
standard chain (environment, shared config/credentials files with ``profile``, container or
instance roles), optionally assuming ``role_arn`` with automatic refresh. botocore's own
retries are off (one attempt): the exporter's runtime owns backoff, and a throttled call
becomes a :class:`CollectorError` with ``reason="throttled"`` and ``retry_after``.

Error messages carry the operation, the region and AWS's error code and message; AWS error
messages name principals (ARNs), never keys. Nothing here logs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from exporter.collectors.aws_trail import TokenBucket
from exporter.collectors.base import CollectorError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
    }
)
AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
DEFAULT_THROTTLE_WAIT = 5.0


def make_session(
    *,
    profile: str | None,
    role_arn: str | None,
    endpoint_url: str | None,
    region: str | None = None,
) -> boto3.Session:
    """A session on the standard credential chain, assuming ``role_arn`` when given.

    The role is assumed through STS in ``region`` (the collector's first region), so it works
    without a default region in the environment or the profile.
    """
    base = boto3.Session(profile_name=profile)
    if role_arn is None:
        return base
    core = base._session  # boto3 exposes no public hook for refreshable assume-role credentials
    sts_region = region or base.region_name

    def sts_client(service_name: str, **kwargs: Any) -> Any:
        kwargs = {**kwargs, "endpoint_url": endpoint_url}
        if sts_region:
            kwargs["region_name"] = sts_region
        return core.create_client(service_name, **kwargs)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=base.get_credentials(),
        role_arn=role_arn,
        extra_args={"RoleSessionName": "secmon-exporter"},
    )
    assumed = botocore.session.Session()
    assumed._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )
    return boto3.Session(botocore_session=assumed)


class AwsApi:
    """Clients per (region, service), CloudTrail rate limiting, and API call accounting."""

    def __init__(
        self,
        session: boto3.Session,
        *,
        endpoints: Mapping[str, str],
        timeout: float,
        lookup_rate: float,
    ) -> None:
        self._session = session
        self._endpoints = endpoints
        self._lookup_rate = lookup_rate
        self._config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
            user_agent_extra="secmon-exporter",
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = asyncio.Lock()
        self.calls: Counter[tuple[str, str, str]] = Counter()  # (region, operation, outcome)

    async def _client(self, region: str, service: str) -> Any:
        async with self._lock:  # a boto3 session is not safe for concurrent client creation
            key = (region, service)
            if key not in self._clients:
                self._clients[key] = await asyncio.to_thread(self._new_client, region, service)
            return self._clients[key]

    def _new_client(self, region: str, service: str) -> Any:
        # Typed Any: the boto3-stubs overloads want a literal service name.
        make: Any = self._session.client
        return make(
            service,
            region_name=region,
            endpoint_url=self._endpoints.get(service),
            config=self._config,
        )

    def bucket(self, region: str) -> TokenBucket:
        # LookupEvents: 2 requests/s per account and region; burst of one keeps us under it.
        if region not in self._buckets:
            self._buckets[region] = TokenBucket(self._lookup_rate)
        return self._buckets[region]

    async def call(
        self, region: str, service: str, operation: str, params: dict[str, Any]
    ) -> Mapping[str, Any]:
        """Run ``client.<operation>(**params)``; any failure becomes a CollectorError."""
        client = await self._client(region, service)
        name = client.meta.method_to_api_mapping.get(operation, operation)
        if service == "cloudtrail":
            await self.bucket(region).acquire()
        try:
            result: Mapping[str, Any] = await asyncio.to_thread(
                getattr(client, operation), **params
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            text = str(error.get("Message", ""))[:200]
            where = f"{name} in {region} failed: {code}: {text}"
            if code in THROTTLING_CODES:
                self.calls[(region, name, "throttled")] += 1
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                wait = headers.get("retry-after", "")
                retry_after = float(wait) if wait.isdigit() else DEFAULT_THROTTLE_WAIT
                raise CollectorError(where, reason="throttled", retry_after=retry_after) from None
            outcome = "denied" if code in AUTH_CODES else "error"
            self.calls[(region, name, outcome)] += 1
            raise CollectorError(where, reason=outcome) from None
        except (NoCredentialsError, PartialCredentialsError):
            self.calls[(region, name, "error")] += 1
            raise CollectorError(
                f"{name} in {region}: no AWS credentials found", reason="credentials"
            ) from None
        except (ConnectTimeoutError, ReadTimeoutError):
            self.calls[(region, name, "error")] += 1
            raise CollectorError(f"{name} in {region} timed out", reason="timeout") from None
        except EndpointConnectionError:
            self.calls[(region, name, "error")] += 1
            raise CollectorError(
                f"{name} in {region}: cannot reach the endpoint", reason="connection"
            ) from None
        except BotoCoreError as exc:
            self.calls[(region, name, "error")] += 1
            # The class name only: botocore messages can quote request parameters.
            raise CollectorError(
                f"{name} in {region} failed: {type(exc).__name__}", reason="internal"
            ) from None
        self.calls[(region, name, "ok")] += 1
        return result

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
