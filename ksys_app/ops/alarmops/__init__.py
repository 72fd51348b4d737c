"""Operators and alarms from the command line: `ksys operator ...` and `ksys alarms ...`.

These run as the owner (KSYS_ADMIN_DSN): creating operators and taking alarms out of
service are an administrator's acts. Operators acknowledge and shelve on the pages,
through eco_operator (migrations 0019, 0020).
"""
