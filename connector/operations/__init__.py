"""The connector's AWS services, one module per operation family."""
