"""Tests of the AWS collector."""
