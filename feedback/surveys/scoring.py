"""How answers become figures: the Net Promoter Score (CONTRACT §6) and means."""
from __future__ import annotations

PROMOTER_MIN = 9  # 9 and 10 are promoters
DETRACTOR_MAX = 6  # 0 to 6 are detractors


def nps(n: int, promoters: int, detractors: int) -> float | None:
    """The percentage of promoters minus the percentage of detractors among ``n`` answers (None for none)."""
    return 100.0 * (promoters - detractors) / n if n else None


def nps_of(counts: dict[int, int]) -> float | None:
    """NPS of a distribution {score 0-10: answers}."""
    n = sum(counts.values())
    promoters = sum(count for value, count in counts.items() if value >= PROMOTER_MIN)
    detractors = sum(count for value, count in counts.items() if value <= DETRACTOR_MAX)
    return nps(n, promoters, detractors)


def mean(total: float, n: int) -> float | None:
    """total / n, or None when nothing was counted."""
    return total / n if n else None
