"""The bridge's HTTP API under ``/api/v1/`` (bearer token from ``api_token``)."""
