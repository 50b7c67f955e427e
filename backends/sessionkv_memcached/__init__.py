"""The memcached (aiomcache) backend for sessionkv: ``pip install "sessionkv[memcached]"``.

URL: ``memcached://host[:port]`` (one server, memcached 1.6+). Options (query string or keyword
overrides): namespace, pool_size, timeout, connect_timeout. ``keys()`` is complete for keys written
through the store thanks to a directory index kept in memcached; see ``sessionkv_memcached.index``.
Footprint rule: index items expire with their last member (plus a slack of a quarter of the ttl, at least
1 s) and compaction drops the names of expired keys, so a directory holds only its live names.
This package does not import aiomcache; ``sessionkv_memcached.store`` does, when a URL is opened.
"""
