"""The local stack's demo key: documented, so that a newcomer's first ``curl`` just works.

It exists only in the local stack (and the tests' deployment); a deployed stack has no key
until an operator makes one with ``vegart-admin keys create``.
"""

from __future__ import annotations

import hashlib

DEMO_KEY = "vg_local-demo-key-not-a-secret-0000"
DEMO_KEY_ID = hashlib.sha256(DEMO_KEY.encode()).hexdigest()
DEMO_LABEL = "local demo"
