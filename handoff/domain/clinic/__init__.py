"""Clinic domain (plain Python, no I/O): calendar and holidays, slots, CPF, appointment rules, billing."""
