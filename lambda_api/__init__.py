"""The Lambda API (REST-JSON, `/2015-03-31/...`): functions stored under the data directory, run in
a pool of worker processes (runner.py), their logs in CloudWatch Logs (cloudwatch_logs/)."""
