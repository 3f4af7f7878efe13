"""Time for code under test: a clock that only moves when it sleeps, and a sleep that does not
wait, so that retry timing is exact and instant."""

from __future__ import annotations


def no_wait(seconds: float) -> None:
    """A sleep that returns at once: a back-off that costs a test no time."""
    del seconds


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
