"""scope_units: the unit at which overlap across business units is counted."""

from __future__ import annotations

import pytest

from governance.metrics import UnitFacts, scope_units

AGENCIES = [
    UnitFacts(1, "DOJ", "Justice"),
    UnitFacts(2, "DOL", "Labor"),
    UnitFacts(10, "FBI", "FBI", parent_id=1),
    UnitFacts(11, "FBI-LAB", "Laboratory", parent_id=10),
    UnitFacts(20, "OSHA", "OSHA", parent_id=2),
]
ORGANISATION = [
    UnitFacts(1, "ORG", "Organisation"),
    UnitFacts(2, "FIN", "Finance", parent_id=1),
    UnitFacts(3, "OPS", "Operations", parent_id=1),
    UnitFacts(4, "FIN-TAX", "Tax", parent_id=2),
    UnitFacts(5, "FIN-TAX-VAT", "VAT", parent_id=4),
]


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (AGENCIES, {1: 1, 2: 2, 10: 1, 11: 1, 20: 2}),
        (ORGANISATION, {1: 1, 2: 2, 3: 3, 4: 2, 5: 2}),
        ([UnitFacts(7, "ONE", "Only unit")], {7: 7}),
        ([], {}),
    ],
    ids=["several-roots-use-the-root", "one-root-uses-its-children", "single-unit", "empty"],
)
def test_scope_units(units, expected):
    assert scope_units(units) == expected


def test_scope_units_ignores_unknown_parents_and_cycles():
    # given a unit whose parent is not in the list, and two units that point at each other
    units = [
        UnitFacts(1, "A", "A", parent_id=99),
        UnitFacts(2, "B", "B", parent_id=3),
        UnitFacts(3, "C", "C", parent_id=2),
    ]

    # when
    scope = scope_units(units)

    # then the orphan is its own root and the cycle is broken without looping forever
    assert scope[1] == 1
    assert scope[2] in {2, 3} and scope[3] in {2, 3}


def test_scope_units_does_not_depend_on_order():
    assert scope_units(list(reversed(ORGANISATION))) == scope_units(ORGANISATION)
