"""Versioned event schemas, the envelope and the subject conventions."""

from shared.events.envelope import Envelope, Event, rpc_subject, stream_name, stream_subjects, subject_for

__all__ = ["Envelope", "Event", "rpc_subject", "stream_name", "stream_subjects", "subject_for"]
