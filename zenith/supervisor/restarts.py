"""How soon and how often processes are restarted.

`Backoff` is per process, like Kubernetes' CrashLoopBackOff: the first restart comes
fast, each further crash doubles the delay up to a cap, and a process that stayed up
for a while starts again from the first delay. `RestartIntensity` is per pool, like an
Erlang/OTP child supervisor's MaxR/MaxT: too many restarts of one pool in a window means
restarting it does not help, so the pool gives up and escalates to the root.
"""

from __future__ import annotations

import random
from collections import deque


class RestartIntensityExceeded(Exception):
    """More restarts than allowed within the window; the supervisor gives up."""


class Backoff:
    """Exponential delay with jitter between restarts of one crash-looping process.

    Parameters:
      base(float): First delay, in seconds.
      cap(float): Longest delay, in seconds.
      jitter(float): Each delay is multiplied by a random factor in [1 - jitter,
        1 + jitter] (then capped), so processes that crashed together do not restart
        in lockstep.  Default: 0.2.
      rng(random.Random | None): Source of randomness (tests pass a seeded one).
    """

    def __init__(self, *, base: float, cap: float, jitter: float = 0.2, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.failures = 0
        self.current = 0.0

    def next_delay(self) -> float:
        """The delay before the next restart; each call doubles the following one."""
        nominal = min(self.cap, self.base * (2 ** min(self.failures, 32)))
        self.failures += 1
        spread = 1.0 + self.rng.uniform(-self.jitter, self.jitter)
        self.current = min(self.cap, nominal * spread)
        return self.current

    def reset(self) -> None:
        """The process was healthy long enough: the next restart is fast again."""
        self.failures = 0
        self.current = 0.0


class RestartIntensity:
    """Counts restarts over a sliding window (Erlang/OTP intensity and period).

    Parameters:
      max_restarts(int): Restarts allowed within `window`.
      window(float): Window length, in seconds.
    """

    def __init__(self, *, max_restarts: int, window: float) -> None:
        self.max_restarts = max_restarts
        self.window = window
        self._times: deque[float] = deque()

    def record(self, now: float) -> None:
        """Count a restart at monotonic time `now`.

        Raises:
          RestartIntensityExceeded: When this restart is one too many.
        """
        self._times.append(now)
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) > self.max_restarts:
            exits = len(self._times)
            self._times.pop()  # refused: `recent` counts the restarts that happened
            raise RestartIntensityExceeded(
                f"{exits} exits to restart within {self.window:g} s (at most {self.max_restarts} restarts allowed)"
            )

    def recent(self, now: float) -> int:
        return sum(1 for t in self._times if t > now - self.window)
