"""The Chair's review: decisions and what changed between revisions."""
