"""The report: collation, rendering, figures, the glossary, the collation report, publication."""
