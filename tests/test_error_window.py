from minicrm.error_window import ErrorWindow


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_rate_over_the_window_decides_and_old_calls_are_forgotten():
    clock = Clock()
    window = ErrorWindow(span=30, threshold=0.5, min_calls=10, clock=clock)
    for i in range(9):
        window.record(ok=i % 2 == 0)
    assert not window.unhealthy()  # too few calls to judge
    window.record(ok=False)
    assert window.failures() == (5, 10) and window.unhealthy()
    clock.now = 31
    assert window.failures() == (0, 0) and not window.unhealthy()
    for _ in range(10):
        window.record(ok=True)
    window.record(ok=False)
    assert not window.unhealthy()
