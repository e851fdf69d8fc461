"""Tests of the vulnerability-report collector."""
