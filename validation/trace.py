"""Which tests verify which requirement, and what is wrong with it: a requirement no test
verifies, a test citing an unknown ID, a test citing none."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .requirements import Requirement


@dataclass
class Trace:
    tests_of: dict[str, list[str]]  # requirement ID -> test node IDs
    unknown: dict[str, list[str]] = field(default_factory=dict)  # unknown ID -> tests citing it
    untraced_tests: list[str] = field(default_factory=list)

    @property
    def untested(self) -> list[str]:
        return [rid for rid, tests in self.tests_of.items() if not tests]

    def problems(self) -> list[str]:
        lines = [f"requirement {rid} has no test" for rid in self.untested]
        lines += [
            f"unknown requirement {rid} cited by {', '.join(tests[:3])}"
            + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
            for rid, tests in sorted(self.unknown.items())
        ]
        lines += [f"test cites no requirement: {test}" for test in self.untraced_tests]
        return lines


def trace(requirements: Mapping[str, Requirement], cited: Iterable[tuple[str, set[str]]]) -> Trace:
    """`cited`: (test node ID, the requirement IDs it names) for every test."""
    result = Trace(tests_of={rid: [] for rid in requirements})
    for test, ids in cited:
        if not ids:
            result.untraced_tests.append(test)
        for rid in sorted(ids):
            if rid in result.tests_of:
                result.tests_of[rid].append(test)
            else:
                result.unknown.setdefault(rid, []).append(test)
    return result
