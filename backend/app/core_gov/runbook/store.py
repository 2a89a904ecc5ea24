"""The runbook keeps no files: every item is computed from the other modules' services."""
