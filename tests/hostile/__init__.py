"""Hostile input: every form and upload of the eCRF fed a corpus of values that attack the
browser, the database, spreadsheets, parsers and the site boundary."""
