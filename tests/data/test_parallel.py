import threading
import time

from imgclf.data.parallel import ordered_map


def test_results_come_in_input_order_whatever_finishes_first():
    def slow_for_small(n):
        time.sleep(0.01 * (5 - n % 5))
        return n * n

    assert list(ordered_map(slow_for_small, range(20), workers=4)) == [n * n for n in range(20)]


def test_at_most_a_bounded_number_of_items_is_in_flight():
    """The stream is not consumed ahead: memory stays flat for any number of files."""
    taken, peak, lock = [0], [0], threading.Lock()
    done = [0]

    def items():
        for n in range(200):
            with lock:
                taken[0] += 1
                peak[0] = max(peak[0], taken[0] - done[0])
            yield n

    def work(n):
        with lock:
            done[0] += 1
        return n

    assert sum(ordered_map(work, items(), workers=2)) == sum(range(200))
    assert peak[0] <= 4 * 2 + 1
