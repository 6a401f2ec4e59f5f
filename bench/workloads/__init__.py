"""One module per workload; each has SUMMARY, add_arguments(parser) and run(bench, args) -> Report."""
