from minicrm.ratelimit import TokenBucket


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.wait_time() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert abs(bucket.wait_time() - 0.1) < 1e-9
    clock.now += 0.1
    assert bucket.wait_time() == 0.0
    clock.now += 10
    assert [bucket.wait_time() for _ in range(3)] == [0.0, 0.0, 0.0]  # capped at the burst
    assert bucket.wait_time() > 0
