"""The strategies as pure functions: fairness without a database."""

from collections import Counter

from integrations.routing import strategies


def test_round_robin_takes_the_next_id_and_wraps() -> None:
    agents = ["c", "a", "b"]
    assert strategies.round_robin(agents, "") == "a"
    assert strategies.round_robin(agents, "a") == "b"
    assert strategies.round_robin(agents, "c") == "a"
    assert strategies.round_robin(["a", "c"], "b") == "c"  # the pointer's agent left the pool


def test_smooth_weighted_is_exact_and_interleaved() -> None:
    weights = {"a": 5, "b": 1, "c": 1}
    state: dict[str, int] = {}
    picks = []
    for _ in range(7):
        chosen, state = strategies.smooth_weighted(weights, state)
        picks.append(chosen)
    assert Counter(picks) == {"a": 5, "b": 1, "c": 1}
    assert picks == ["a", "a", "b", "a", "c", "a", "a"]  # nginx's classic sequence
    assert state == {"a": 0, "b": 0, "c": 0}  # back to the start: exact over every cycle


def test_smooth_weighted_over_10000_picks_is_within_2_percent() -> None:
    weights = {f"agent{i:02d}": w for i, w in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])}
    total = sum(weights.values())
    state: dict[str, int] = {}
    counts: Counter[str] = Counter()
    for _ in range(10_000):
        chosen, state = strategies.smooth_weighted(weights, state)
        counts[chosen] += 1
    for agent, weight in weights.items():
        assert abs(counts[agent] / 10_000 - weight / total) < 0.02 * weight / total + 1e-9


def test_least_loaded_breaks_ties_in_turn() -> None:
    loads = {"a": 2, "b": 1, "c": 1}
    assert strategies.least_loaded(loads, "") == "b"
    assert strategies.least_loaded(loads, "b") == "c"
    assert strategies.least_loaded(loads, "c") == "b"
