"""The etcd v3 (etcd3-py) backend for sessionkv.

Its client library is installed by `pip install "sessionkv[etcd]"`.
"""
