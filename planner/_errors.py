"""The one exception type users catch."""

from __future__ import annotations


class PlannerError(Exception):
    """Bad input or a solver failure, described for a planner.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    file : str, optional
        The input file (or table name) the problem is in.
    row : int, optional
        The row as a spreadsheet shows it: the header is row 1, the first
        record row 2 (for GeoJSON/GeoPackage: feature number + 1).
    column : str, optional
        The column name.
    """

    def __init__(self, message: str, file=None, row=None, column=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.row = None if row is None else int(row)
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message
