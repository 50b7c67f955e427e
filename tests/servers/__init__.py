"""Real servers for the test suite: a generic process helper plus per-backend pytest fixtures.

- ``process.py``: ``ServerProcess`` (free loopback port, temp dir, readiness probe, stop by PID, restart on
  the same port), ``free_port``, ``tcp_accepts``/``tcp_exchange`` probes. No pytest, no backend imports.
- ``ladder.py``: ``server_ladder`` (env URL -> local binary -> Docker via testcontainers -> skip, or fail
  under CI) and ``Endpoint``: the one path every backend's session-wide server fixture takes.
- ``availability.py``: ``server_unavailable(reason)`` skips, or fails when ``CI`` is set; ``docker_answers()``.
- ``tls.py``: a throwaway CA and server certificate (openssl) for TLS servers.
- ``redis_process.py`` + ``redis.py``: redis-server processes, and the ``redis_server``/``redis_cluster``
  (session) and ``redis_process`` (per test) fixtures, registered in tests/conftest.py ``pytest_plugins``.

A new backend adds ``<name>_process.py`` (command line + readiness probe on ``ServerProcess``; no pytest,
so bench/ can use it) and ``<name>.py`` (a session fixture that is one ``server_ladder`` call), and appends
``"servers.<name>"`` to ``pytest_plugins`` in tests/conftest.py.
"""
