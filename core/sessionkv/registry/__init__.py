"""The session registry: ``SessionRegistry`` (records in a shared store) and ``SessionNode`` (runtime).

The key scheme is documented in ``sessionkv.registry.keys``.
"""

from .info import NodeInfo, SessionInfo
from .node import SessionNode
from .registry import HeartbeatResult, SessionRegistry

__all__ = ["HeartbeatResult", "NodeInfo", "SessionInfo", "SessionNode", "SessionRegistry"]
