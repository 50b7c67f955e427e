"""Entry-point plugin for the dynamodb backend; light: never imports the client library."""

from sessionkv import BackendSpec, hookimpl


@hookimpl
def sessionkv_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            schemes=("dynamodb",),
            store="sessionkv_dynamodb.store:DynamoDBStore",
            requires=("aioboto3",),
            install='pip install "sessionkv[dynamodb]"',
            extra="dynamodb",
            description="Amazon DynamoDB (aioboto3)",
        )
    ]
