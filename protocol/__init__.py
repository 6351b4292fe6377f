"""The Blina-CELL trial protocol as plain Python.

Study days, phases, visits, protocol versions and dosing, written to be read beside
/work/shared/protocol/RULES.md. No Django import anywhere below this package, and no I/O:
the apps load data, call these functions and store the results.
"""
