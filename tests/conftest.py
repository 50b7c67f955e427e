"""Shared fixtures for sessionkv's own tests; server fixtures live in tests/servers/."""

from __future__ import annotations
