"""Findings: the statements the book makes about its measurements, each a named check.

A :class:`Finding` pairs a sentence of the prose ("the CNN loses fewer points
than the 32-hidden network at a 2-pixel shift") with the rule that decides it,
the numbers behind it and its verdict in this build. The chapters state
findings; after every build the tests require each stated finding to hold and
name the chapter and the finding when one does not. The reproduction report
uses the same findings, so one claim has one rule and one verdict everywhere.

The rules, stated once (the chapter "Reproducing the lecture" quotes them):

**Comparisons** (:func:`exceeds`). "A is higher than B" holds when every seed's
value of A is higher than every seed's value of B. Each side is measured on at
least three seeds; with three against three, complete separation happens by
chance with probability 1/20 when A and B do not differ. A comparison on fewer
seeds is reported but never holds.

**Thresholds** (:func:`at_least`, :func:`at_most`). "A is at least t" holds
when every seed's value is.

**Values against the lecture** (:func:`lecture_value`). The lecture's number
is *reproduced* when it lies within the spread this build measures (the
smallest to the largest value over seeds, and over shift directions where
the lecture does not name one) widened by a tolerance of
:data:`TOLERANCE` (1 percentage point) for differences of data and recipe.
A quick-profile number, or one measured on the offline MNIST subset, is
*not comparable*: shown, not judged.

Explained in the chapter "How this book is built".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

#: Tolerance of a value claim (accuracies are fractions: 0.01 = 1 percentage point).
TOLERANCE = 0.01
#: Fewest seeds a comparison may rest on.
MIN_SEEDS = 3

RULE_COMPARE = ("every seed of the first is above every seed of the second "
                f"(at least {MIN_SEEDS} seeds each)")
RULE_THRESHOLD = "every seed"
RULE_LECTURE = ("the lecture's value lies within this build's range over seeds (and "
                "directions where the lecture names none), widened by 1 percentage point")


@dataclass(frozen=True)
class Sample:
    """The values of one quantity over seeds (and directions): ``percent`` marks
    accuracies stored as fractions, shown as percentages."""

    label: str
    values: tuple
    percent: bool = True
    unit: str = ""          # shown after the value; for percent samples "%" unless set

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def sd(self) -> float:
        """Sample standard deviation (0 for a single value)."""
        return statistics.stdev(self.values) if self.n > 1 else 0.0

    @property
    def min(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def max(self) -> float:
        return max(self.values) if self.values else math.nan

    def fmt(self, x: float, digits: int | None = None) -> str:
        """One value as the prose shows it: ``92.2 %`` or ``0.0113``."""
        if self.percent:
            return f"{100 * x:.{1 if digits is None else digits}f} {self.unit or '%'}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{x:.{3 if digits is None else digits}g}{unit}"

    def text(self, digits: int | None = None) -> str:
        """``"92.2 ± 0.4 % (n = 3)"`` (mean ± standard deviation), or one value."""
        if self.n == 1:
            return self.fmt(self.values[0], digits)
        if self.percent:
            d = 1 if digits is None else digits
            return (f"{100 * self.mean:.{d}f} ± {100 * self.sd:.{d}f} {self.unit or '%'} "
                    f"(n = {self.n})")
        return f"{self.fmt(self.mean, digits)} ± {self.sd:.2g} (n = {self.n})"


@dataclass(frozen=True)
class Finding:
    """A statement about measurements with its verdict (see the module docstring)."""

    name: str               # unique within its view, e.g. "cnn-more-shift-robust"
    statement: str          # the sentence the prose makes
    holds: bool
    evidence: str           # the numbers behind the verdict, in words
    rule: str
    numbers: dict = field(default_factory=dict)

    def __post_init__(self):
        # a comparison of numpy numbers gives numpy.bool, which JSON and ``is True`` reject
        object.__setattr__(self, "holds", bool(self.holds))

    @property
    def verdict(self) -> str:
        return "holds" if self.holds else "does not hold"

    def line(self) -> str:
        return f"{self.statement}: {self.verdict} ({self.evidence}; rule: {self.rule})"


def exceeds(name: str, statement: str, a: Sample, b: Sample, margin: float = 0.0) -> Finding:
    """``statement`` = "a is higher than b (by more than ``margin``)"; see the rule above."""
    enough = a.n >= MIN_SEEDS and b.n >= MIN_SEEDS
    holds = enough and a.min - margin > b.max
    evidence = f"{a.label} {a.text()} vs {b.label} {b.text()}"
    if not enough:
        evidence += f"; fewer than {MIN_SEEDS} seeds, so not judged"
    return Finding(name, statement, holds, evidence, RULE_COMPARE,
                   {"a": list(a.values), "b": list(b.values), "margin": margin})


def at_least(name: str, statement: str, a: Sample, threshold: float) -> Finding:
    """``statement`` = "a is at least ``threshold``" for every seed."""
    shown = f"{100 * threshold:g} {a.unit or '%'}" if a.percent else f"{threshold:g}"
    return Finding(name, statement, a.n > 0 and a.min >= threshold,
                   f"{a.label} {a.text()}, smallest {a.fmt(a.min)}; threshold {shown}",
                   RULE_THRESHOLD, {"values": list(a.values), "threshold": threshold})


def at_most(name: str, statement: str, a: Sample, threshold: float) -> Finding:
    """``statement`` = "a is at most ``threshold``" for every seed."""
    shown = f"{100 * threshold:g} {a.unit or '%'}" if a.percent else f"{threshold:g}"
    return Finding(name, statement, a.n > 0 and a.max <= threshold,
                   f"{a.label} {a.text()}, largest {a.fmt(a.max)}; threshold {shown}",
                   RULE_THRESHOLD, {"values": list(a.values), "threshold": threshold})


def all_of(name: str, statement: str, parts: list[Finding]) -> Finding:
    """A statement that holds when each of ``parts`` holds."""
    return Finding(name, statement, all(p.holds for p in parts),
                   "; ".join(f"{p.name}: {p.evidence}" for p in parts),
                   "each part: " + "; ".join(sorted({p.rule for p in parts})),
                   {p.name: p.numbers for p in parts})


@dataclass(frozen=True)
class ValueClaim:
    """A number of the lecture set beside this build's: the verdict of the value rule."""

    key: str                # key into nnbook.lecture.CLAIMS
    lecture: float
    shown: Sample           # what the book shows: one value per seed
    sample: Sample          # what is judged: seeds, and directions where the lecture names none
    verdict: str            # reproduced / differs / not comparable
    why: str


def lecture_value(key: str, lecture: float, shown: Sample, spread: Sample | None = None,
                  not_comparable: str | None = None, tol: float = TOLERANCE) -> ValueClaim:
    """Judge this build against the lecture's value (rule above): ``shown`` holds one value
    per seed (what chapters and report show), ``spread`` the values whose range counts
    (default: ``shown``)."""
    sample = shown if spread is None else spread
    lo, hi = sample.min - tol, sample.max + tol
    inside = lo <= lecture <= hi
    if not_comparable:
        return ValueClaim(key, lecture, shown, sample, "not comparable", not_comparable)
    if inside:
        return ValueClaim(key, lecture, shown, sample, "reproduced",
                          f"inside the range ± {100 * tol:g} point")
    gap = lecture - (sample.max if lecture > hi else sample.min)
    return ValueClaim(key, lecture, shown, sample, "differs",
                      f"{abs(100 * gap):.1f} points {'above' if gap > 0 else 'below'} the range")
