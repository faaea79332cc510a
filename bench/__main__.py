"""`python -m bench`: what `bench/run` runs."""

import sys

from bench.measure import main

sys.exit(main())
