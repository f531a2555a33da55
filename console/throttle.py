"""Login throttling: per account and address, per address, and for everyone together.

A lock counts failures of one account *from one address*, so a stranger's wrong guesses cannot
lock a colleague out from their own desk; an address that fails on many accounts is stopped as
a whole; and a global rate limit slows guesses spread over many addresses. The counters live in
the console process (it is one process; a restart resets them, as nginx's `limit_req` does).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Deque, Hashable, Optional, Set

GLOBAL_WINDOW_S = 60.0
MAX_KEYS = 100_000


@dataclass
class _Counter:
    failures: int
    first_at: float
    locked_until: Optional[float] = None


class _Counters:
    """Failure counters by key, each with a window; locked when `limit` failures fall in one."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self.items: OrderedDict[Hashable, _Counter] = OrderedDict()

    def locked(self, key: Hashable, now: float) -> bool:
        item = self.items.get(key)
        return bool(item and item.locked_until and item.locked_until > now)

    def fail(self, key: Hashable, now: float) -> None:
        item = self.items.get(key)
        if item is None or now - item.first_at > self.window_s:
            item = _Counter(0, now)
        item.failures += 1
        if item.failures >= self.limit:
            item.locked_until = now + self.window_s
        self.items[key] = item
        self.items.move_to_end(key)
        while len(self.items) > MAX_KEYS:  # an attacker inventing names cannot fill the memory
            self.items.popitem(last=False)

    def clear(self, key: Hashable) -> None:
        self.items.pop(key, None)


class LoginThrottle:
    """Decides whether a login attempt may be checked at all, and records its outcome.

    Args:
        max_failures: Failures of one account from one address before that pair is locked.
        lock_s: The window in which failures count, and how long a lock lasts.
        max_failures_per_ip: Failures from one address, over all accounts, before it is locked.
        max_attempts_global: Attempts per minute from everywhere before further ones must wait.
        clock: Seconds (time.time in production; a fake in tests).
    """

    def __init__(
        self,
        max_failures: int,
        lock_s: float,
        max_failures_per_ip: int,
        max_attempts_global: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pairs = _Counters(max_failures, lock_s)
        self._ips = _Counters(max_failures_per_ip, lock_s)
        self._recent: Deque[float] = deque(maxlen=max_attempts_global)
        self._clock = clock
        self._lock = threading.Lock()

    def refusal(self, username: str, ip: str) -> Optional[str]:
        """None if the attempt may go on; otherwise why not: "global", "ip" or "account".

        An allowed attempt counts towards the global rate.
        """
        now = self._clock()
        with self._lock:
            recent = self._recent
            if len(recent) == recent.maxlen and now - recent[0] < GLOBAL_WINDOW_S:
                return "global"
            if self._ips.locked(ip, now):
                return "ip"
            if self._pairs.locked((username, ip), now):
                return "account"
            recent.append(now)
            return None

    def failed(self, username: str, ip: str) -> None:
        now = self._clock()
        with self._lock:
            self._ips.fail(ip, now)
            if username:
                self._pairs.fail((username, ip), now)

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._pairs.clear((username, ip))

    def unlock(self, username: str) -> None:
        """Ends every lock of `username` (from any address)."""
        with self._lock:
            for key in [k for k in self._pairs.items if isinstance(k, tuple) and k[0] == username]:
                self._pairs.clear(key)

    def locked_usernames(self) -> Set[str]:
        now = self._clock()
        with self._lock:
            return {
                key[0]
                for key, item in self._pairs.items.items()
                if isinstance(key, tuple) and item.locked_until and item.locked_until > now
            }

    def retry_after_s(self) -> int:
        """Seconds after which a refused attempt may be tried again (an upper bound)."""
        return int(max(GLOBAL_WINDOW_S, self._pairs.window_s))
