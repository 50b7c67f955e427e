"""``python -m sessionkv.cli``."""

from . import entry

entry()
