"""How a rule picks one agent among the eligible candidates. Pure functions over ids sorted by
GHL user id, with the rule's state passed in and the new state handed back, so the engine can
keep that state in one locked row and tests can check fairness without a database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def round_robin(candidates: Sequence[str], last: str) -> str:
    """The first candidate after the previous pick in id order, wrapping around. Keying the
    pointer on the agent id (not a position) keeps it meaningful when agents come and go."""
    ordered = sorted(candidates)
    return next((agent for agent in ordered if agent > last), ordered[0])


def smooth_weighted(
    weights: Mapping[str, int], current: Mapping[str, int]
) -> tuple[str, dict[str, int]]:
    """Smooth weighted round robin (as in nginx): every candidate gains its weight, the highest
    wins and pays the total back. Over any run of sum(weights) picks each agent is chosen exactly
    its weight times, interleaved rather than in bursts; ties go to the lowest id."""
    state = dict(current)
    total = sum(weights.values())
    for agent, weight in weights.items():
        state[agent] = state.get(agent, 0) + weight
    chosen = min(weights, key=lambda agent: (-state[agent], agent))
    state[chosen] -= total
    return chosen, state


def least_loaded(loads: Mapping[str, int], last: str) -> str:
    """Fewest open leads; a tie is broken round robin so equal agents still take turns."""
    fewest = min(loads.values())
    return round_robin([agent for agent, load in loads.items() if load == fewest], last)
