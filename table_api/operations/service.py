"""The DynamoDB service every operation module registers on."""

from table_api.protocol import Service

SERVICE = Service("dynamodb", "2012-08-10")
