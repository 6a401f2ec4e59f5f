"""The DynamoDB service every operation module registers on."""

from aws_json.protocol import Service

SERVICE = Service("dynamodb", "2012-08-10")
