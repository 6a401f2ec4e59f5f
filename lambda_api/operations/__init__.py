"""The Lambda operations: service.py holds SERVICE and what they share; functions.py and invoke.py
register their operations on it under their wire names."""
