import threading

from imgclf.data.parallel import ordered_map


def test_results_come_in_input_order_whatever_finishes_first():
    """Four items at a time meet at a barrier, so the map must run them at once (a sequential one would never
    pass it); each group finishes in reverse order, so the order out is the map's doing."""
    barrier = threading.Barrier(4, timeout=30)
    finished = threading.Condition()
    done = []

    def work(n):
        barrier.wait()  # all four of a group are running together
        with finished:  # the last of each group of four finishes first
            finished.wait_for(lambda: n % 4 == 3 or n + 1 in done)
            done.append(n)
            finished.notify_all()
        return n * n

    assert list(ordered_map(work, range(20), workers=4)) == [n * n for n in range(20)]
    assert done[:4] == [3, 2, 1, 0]


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
