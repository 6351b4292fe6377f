"""The Blina-CELL trial protocol as plain Python.

Study days, phases, visits, protocol versions and dosing, written to be read beside
docs/protocol-rules.md, whose rule IDs (BD-1, TX-HEP, MR-4, AL-HEP ...) the code cites. No Django
import anywhere below this package, and no I/O: the apps load data, call these functions and
store the results.
"""
