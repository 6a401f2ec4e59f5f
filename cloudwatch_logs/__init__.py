"""CloudWatch Logs, as much of it as reading Lambda's logs needs: log groups and streams kept under
the data directory (store.py), and the read operations the AWS CLI and SDKs use (operations.py)."""
