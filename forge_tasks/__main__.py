"""Run the CLI as ``python -m forge_tasks``."""

import sys

from forge_tasks.cli import main

sys.exit(main())
