"""The memcached (aiomcache) backend for sessionkv.

Its client library is installed by `pip install "sessionkv[memcached]"`.
"""
