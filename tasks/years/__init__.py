"""Across years: next year's cycle, and last year's report imported."""
