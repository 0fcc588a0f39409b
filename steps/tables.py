"""Reading Gherkin data tables (pytest-bdd passes them as lists of rows)."""

from __future__ import annotations


def table_rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    """Rows as dicts keyed by the header row; cells stripped."""
    if len(datatable) < 2:
        raise ValueError("the table needs a header row and at least one data row")
    header = [cell.strip().lower() for cell in datatable[0]]
    return [{h: cell.strip() for h, cell in zip(header, row, strict=True)} for row in datatable[1:]]
