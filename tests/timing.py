"""How long the tests wait: every wait is derived from one constant.

On a slow or loaded machine, set ``CRISIS_HUB_TEST_TIME_SCALE`` (e.g. ``3``) and every wait
below stretches by that factor. The waits come in two kinds that must not be confused:

- *bounds* (``WAIT``, ``LONG_WAIT``, ``STARTUP``): the longest a test waits for something that
  must happen. They are generous on purpose; a passing test never waits them out, so a longer
  bound only makes a failure slower to report.
- *quiet periods* (``QUIET``, ``SETTLE``): how long a test watches for something that must NOT
  happen, or lets a process reach a state it cannot observe. Every second of them is spent on
  every run, so they stay short; a slow machine needs them longer, not a fast one shorter.

Polling intervals (how often a loop looks again) are not waits and are not scaled.
"""

from __future__ import annotations

import os

SCALE = float(os.environ.get("CRISIS_HUB_TEST_TIME_SCALE", "1"))
if not SCALE > 0:
    raise ValueError(f"CRISIS_HUB_TEST_TIME_SCALE must be a positive number, not {SCALE}")


def seconds(n: float) -> float:
    """``n`` seconds on a machine of normal speed, scaled by ``CRISIS_HUB_TEST_TIME_SCALE``."""
    return n * SCALE


WAIT = seconds(10)  # something that should happen "now": a message, a reply, a page element
LONG_WAIT = seconds(30)  # a chain of steps, or a shutdown: several round trips, a process to wind down
STARTUP = seconds(60)  # a process to start and answer, a subprocess to finish, a failover to complete
QUIET = seconds(0.3)  # watched for something that must not arrive
SETTLE = seconds(1)  # let a process reach a state the test cannot observe (a back-off, a pass more)
