from zorio_widget.signalling.ratelimit import TokenBucket


def test_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate_per_s=10, burst=3, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.1  # one token back
    assert [bucket.allow(), bucket.allow()] == [True, False]
    now[0] += 60  # never more than the burst
    assert sum(bucket.allow() for _ in range(10)) == 3
