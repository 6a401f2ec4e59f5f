"""`python -m bench <workload> [options]`: see bench/README.md."""

import sys

from bench.harness.runner import main

sys.exit(main())
