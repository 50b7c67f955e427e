"""The Redis and Redis Cluster (redis-py asyncio) backend for sessionkv.

Its client library is installed by `pip install "sessionkv[redis]"`.
"""
