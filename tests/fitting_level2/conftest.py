"""Level-2 test fixtures: the stand-in behaviour simulator is importable by path."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
