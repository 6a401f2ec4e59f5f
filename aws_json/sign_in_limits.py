"""Failed console sign-ins, counted per source address and per access key id, lock further attempts
out for a time that doubles with each failure (docs/console.md, "Sign-in limits").

The numbers are Amazon Cognito's documented lockout for password sign-ins: the fifth failure locks
for 1 s, each further failure doubles it (2^(n-5) s for n failures), up to 15 minutes; an attempt during a
lockout is refused whatever its secret and does not lengthen it; a success after the lockout, or
15 minutes without a failure once the lockout has ended, starts over (Cognito counts its 15 minutes
from any attempt: waiting out a 15-minute lockout would then start over at once). A locked key or
address answers 429 with Retry-After.

Pure: the clock is a parameter, so tests step through the lockouts without waiting for them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

LOCKOUT_AFTER = 5  # failures
FIRST_LOCKOUT_SECONDS = 1.0
MAX_LOCKOUT_SECONDS = 15 * 60
QUIET_SECONDS = 15 * 60  # this long without a failure, after the last lockout ended, forgets the failures
MAX_RECORDS = 100_000  # addresses and keys remembered at most (memory stays bounded under a spray)


@dataclass
class Record:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0

    @property
    def quiet_since(self) -> float:
        """The last failure or the end of the lockout it caused, whichever is later."""
        return max(self.last_failure, self.locked_until)


class SignInLocked(Exception):
    def __init__(self, retry_after: float):
        super().__init__(f"locked for {retry_after:.1f} s")
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """Retry-After in whole seconds, rounded up: a client that waits that long is let in."""
        return str(max(1, math.ceil(self.retry_after)))


class SignInLimits:
    def __init__(self, lockout_after: int = LOCKOUT_AFTER, first_lockout_s: float = FIRST_LOCKOUT_SECONDS,
                 max_lockout_s: float = MAX_LOCKOUT_SECONDS, quiet_s: float = QUIET_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.lockout_after = lockout_after
        self.first_lockout_s = first_lockout_s
        self.max_lockout_s = max_lockout_s
        self.quiet_s = quiet_s
        self.clock = clock
        self.records: dict[str, Record] = {}

    def check(self, *subjects: str) -> None:
        """Raise SignInLocked while any subject (`address:1.2.3.4`, `key:AKID...`) is locked out."""
        now = self.clock()
        waits = [record.locked_until - now for record in map(self.records.get, subjects)
                 if record is not None and record.locked_until > now]
        if waits:
            raise SignInLocked(max(waits))

    def failed(self, *subjects: str) -> None:
        now = self.clock()
        if len(self.records) >= MAX_RECORDS:
            self.forget_quiet(now)
        for subject in subjects:
            record = self.records.get(subject)
            if record is None or now - record.quiet_since >= self.quiet_s:
                record = self.records[subject] = Record()
            record.failures += 1
            record.last_failure = now
            if record.failures >= self.lockout_after:
                record.locked_until = now + self.lockout_s(record.failures)

    def succeeded(self, *subjects: str) -> None:
        for subject in subjects:
            self.records.pop(subject, None)

    def lockout_s(self, failures: int) -> float:
        """2^(n-5) times the first lockout after n failures (n >= 5), capped."""
        doublings = failures - self.lockout_after
        return min(self.max_lockout_s, self.first_lockout_s * 2 ** min(doublings, 64))

    def forget_quiet(self, now: float) -> None:
        for subject in [s for s, r in self.records.items() if now - r.quiet_since >= self.quiet_s]:
            del self.records[subject]
        if len(self.records) >= MAX_RECORDS:  # a spray from 50,000+ addresses within the quiet time
            for subject in sorted(self.records, key=lambda s: self.records[s].last_failure)[:MAX_RECORDS // 2]:
                del self.records[subject]
