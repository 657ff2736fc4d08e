"""Spreadsheet import and export of the registry (issue 7): the documented column format (docs/import-format.md),
a dry run and an all-or-nothing, idempotent apply, and exports as CSV, GeoJSON and Open Referral HSDS 3.0.

    read_table(filename, data) -> Table                          CSV / XLSX / GeoJSON; raises ImportFileError
    plan_import(session, table, region_code, actor) -> ImportPlan   the dry run; writes nothing
    apply_import(session, table, region_code, actor) -> ImportPlan  raises ImportRejected(plan); does not commit
    export_region(session, region_codes, fmt, viewer) -> (bytes, mimetype, filename)

Import and export check the actor's rights themselves (auth/policy.py, its Forbidden)."""
from .applying import ImportRejected, apply_import
from .exporting import FORMATS, ExportError, export_region
from .planning import plan_import
from .results import ACTIONS, ImportPlan, RowResult
from .reading import ImportFileError, Table, read_table
from .rows import Problem

__all__ = ["ACTIONS", "FORMATS", "ExportError", "ImportFileError", "ImportPlan", "ImportRejected", "Problem",
           "RowResult", "Table", "apply_import", "export_region", "plan_import", "read_table"]
