"""The etcd v3 backend for sessionkv: ``pip install "sessionkv[etcd]"``.

URLs: ``etcd://[user:password@]host[:port][,host[:port]...]`` and ``etcds://...`` (TLS). Options (query
string or keyword overrides): namespace, timeout, max_connections; TLS: ssl_ca_certs, ssl_certfile,
ssl_keyfile, ssl_check_hostname. TTLs are etcd leases (whole seconds: min_ttl and ttl_resolution 2 s).

Footprint rule: a lease lapses with its keys; a lease left empty early (``expire``/``touch``/``delete``) is
revoked by the store's background sweep and by ``close()`` (see ``sessionkv_etcd.leases``).

This package does not import its client library; ``sessionkv_etcd.store`` does, when an etcd URL is opened.
"""
