"""Validation evidence: the requirements with their IDs, which tests verify each (pytest's
`verifies` marker), and the report `make validate` writes."""
