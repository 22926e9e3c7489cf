"""Use cases: one transaction each; load rows, apply domain rules, write rows and audit events."""
