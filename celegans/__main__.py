"""``python -m celegans`` = the ``celegans`` command."""

from celegans.cli import main

raise SystemExit(main())
