"""Formats shared between the parts: what one writes to Kafka and another reads."""
