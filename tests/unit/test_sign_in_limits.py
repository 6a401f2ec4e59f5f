"""Sign-in limits (aws_json.sign_in_limits): Cognito's lockout for failed password sign-ins, stepped
through on a fake clock."""

from __future__ import annotations

import pytest

from aws_json.sign_in_limits import MAX_LOCKOUT_SECONDS, QUIET_SECONDS, SignInLimits, SignInLocked

KEY, ADDRESS = "key:AKIDALICE", "address:10.0.0.1"


@pytest.fixture
def limits(clock):
    return SignInLimits(clock=clock)


def fail(limits, times: int, *subjects: str) -> None:
    for _ in range(times):
        limits.check(*subjects)
        limits.failed(*subjects)


def locked_for(limits, *subjects: str) -> float:
    with pytest.raises(SignInLocked) as info:
        limits.check(*subjects)
    return info.value.retry_after


def test_four_failures_are_free_and_the_fifth_locks_for_a_second(limits):
    fail(limits, 4, KEY, ADDRESS)
    limits.check(KEY, ADDRESS)
    limits.failed(KEY, ADDRESS)
    assert locked_for(limits, KEY) == locked_for(limits, ADDRESS) == 1.0


def test_each_further_failure_doubles_the_lockout_up_to_fifteen_minutes(limits, clock):
    fail(limits, 5, KEY)
    waits = []
    for _ in range(12):
        waits.append(locked_for(limits, KEY))
        clock.now += waits[-1]
        fail(limits, 1, KEY)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, MAX_LOCKOUT_SECONDS, MAX_LOCKOUT_SECONDS]


def test_attempts_during_a_lockout_do_not_lengthen_it(limits, clock):
    fail(limits, 5, KEY)
    clock.now += 0.5
    for _ in range(10):
        assert locked_for(limits, KEY) == 0.5  # refused before any secret is looked at: never counted


def test_one_locked_subject_locks_the_attempt_and_the_longest_wait_is_given(limits, clock):
    fail(limits, 5, ADDRESS)
    clock.now += 1
    fail(limits, 1, ADDRESS)  # the sixth failure: 2 s
    assert locked_for(limits, KEY, ADDRESS) == 2.0
    limits.check(KEY, "address:10.0.0.2")  # the key from another address: free


def test_a_success_starts_over(limits, clock):
    fail(limits, 5, KEY)
    clock.now += 1
    limits.succeeded(KEY)
    fail(limits, 4, KEY)
    limits.check(KEY)  # four free failures again


def test_fifteen_quiet_minutes_after_the_lockout_start_over(limits, clock):
    fail(limits, 5, KEY)  # locked for 1 s
    clock.now += QUIET_SECONDS  # 1 s short of 15 quiet minutes after the lockout
    fail(limits, 1, KEY)
    assert locked_for(limits, KEY) == 2.0
    clock.now += 2 + QUIET_SECONDS
    fail(limits, 4, KEY)
    limits.check(KEY)


def test_retry_after_is_whole_seconds_rounded_up():
    assert SignInLocked(0.2).retry_after_header == "1"
    assert SignInLocked(2.0).retry_after_header == "2"
    assert SignInLocked(2.1).retry_after_header == "3"
