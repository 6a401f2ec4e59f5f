"""The shared harness of `python -m bench` (see bench/README.md).

- `procs`: server processes tied to the benchmark, CPU of a process tree from /proc, HTTP helpers.
- `servers`: the servers under test (ours in its shapes, moto, dynalite, kinesalite, a stub) and
  how clients reach them.
- `clients`: the raw AWS JSON client, boto3 clients, signed headers, Kafka helpers.
- `timing`: the threaded timing loop, percentiles, latency summaries.
- `report`: figures, ratios, verdicts, the printed report and the `bench/RESULTS.md` section.
- `paired`: operation workloads run on ours and a peer, alternating, with medians and ratios.
"""
