"""Fieldline's common library: settings, database, messaging, events, auth, errors, observability."""
