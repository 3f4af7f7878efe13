"""``python -m vegart_admin``: the same as the ``vegart-admin`` script, for an uninstalled tree."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
