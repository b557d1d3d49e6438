"""The figures a simulation reports for one column (simulated, or what actually happened): leads
per agent, cap hits, fallback and unroutable counts, and how evenly the pool's agents were
served."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


def jain_index(counts: Sequence[int]) -> float | None:
    """Jain's fairness index (Σx)² / (n·Σx²): 1 when every agent got the same, 1/n when one got
    everything; undefined (None) for no agents or no leads at all."""
    squares = sum(x * x for x in counts)
    if not counts or squares == 0:
        return None
    return sum(counts) ** 2 / (len(counts) * squares)


@dataclass(frozen=True)
class Fairness:
    """Over the pool's agents (the agents the rules can reach, including those given nothing).
    Shares are of all the leads replayed."""

    agents: int
    max_share: float | None
    min_share: float | None
    jain: float | None

    @property
    def max_min_ratio(self) -> float | None:
        """How many times the best-served agent's share is the least-served one's (None when
        someone got nothing)."""
        if not self.max_share or not self.min_share:
            return None
        return self.max_share / self.min_share


@dataclass
class Column:
    """One side of the comparison over the same leads."""

    leads: int = 0
    per_agent: Counter[str] = field(default_factory=Counter)
    cap_hits: Counter[str] = field(default_factory=Counter)  # leads the agent was capped for
    fallback: int = 0
    unroutable: int = 0
    # Actual side only: neither a routing decision nor an assigned user in the mirror.
    unassigned: int = 0

    def share(self, agent: str) -> float:
        return self.per_agent[agent] / self.leads if self.leads else 0.0

    def fairness(self, pool: Sequence[str]) -> Fairness:
        counts = [self.per_agent[agent] for agent in pool]
        shares = [self.share(agent) for agent in pool]
        return Fairness(
            agents=len(pool),
            max_share=max(shares) if shares and self.leads else None,
            min_share=min(shares) if shares and self.leads else None,
            jain=jain_index(counts),
        )
