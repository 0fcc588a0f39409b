"""Every cell of the capability matrix is exercised by a scenario tagged @matrix:<capability>, whose
Examples cover every version column — except the rows listed as pending, each with what it waits for."""

from pathlib import Path

from pytest_bdd.feature import get_features

from harness.model.matrix import MATRIX_VERSIONS, Capability

FEATURES = Path(__file__).resolve().parents[2] / "features"

# Rows whose cells need emulation that does not exist yet; the reason says what.
PENDING = {
}


def covered_versions() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for feature in get_features([str(FEATURES)]):
        for template in feature.scenarios.values():
            for tag in template.tags:
                if tag.startswith("matrix:"):
                    versions = {int(c["version"]) for e in template.examples for c in e.as_contexts()}
                    found.setdefault(tag.split(":", 1)[1], set()).update(versions)
    return found


def test_every_matrix_cell_has_a_scenario() -> None:
    covered = covered_versions()
    missing = {c.name.lower(): sorted(set(MATRIX_VERSIONS) - covered.get(c.name.lower(), set()))
               for c in Capability if c not in PENDING}
    assert not {k: v for k, v in missing.items() if v}, f"matrix cells without a scenario: {missing}"


def test_pending_rows_are_really_not_covered_yet() -> None:
    """A row that gains scenarios must leave PENDING, so this list stays true."""
    covered = covered_versions()
    assert not [c for c in PENDING if c.name.lower() in covered]
