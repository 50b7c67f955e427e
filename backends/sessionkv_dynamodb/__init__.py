"""The Amazon DynamoDB (aioboto3) backend for sessionkv.

Its client library is installed by `pip install "sessionkv[dynamodb]"`.
"""
