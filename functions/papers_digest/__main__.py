"""`python -m papers_digest`: the `papers-digest` command."""

import sys

from .cli import main

sys.exit(main())
