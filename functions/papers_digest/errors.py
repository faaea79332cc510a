"""Errors a user can see. Each message names what was wrong and what to do."""


class DigestError(Exception):
    """Base class: the run failed for a reason we can state in one line."""


class InvalidDayError(DigestError, ValueError):
    """The requested day is not a day we can publish."""


class InvalidEventError(DigestError, ValueError):
    """A Lambda event we do not understand."""


class ConfigError(DigestError, ValueError):
    """A setting (environment variable or flag) has a bad value."""


class SourceError(DigestError):
    """The Hugging Face API could not be reached or kept failing."""


class MalformedResponseError(SourceError):
    """The Hugging Face API answered, but not with what we expect."""


class StoreError(DigestError):
    """Storage failed or holds something we cannot read."""


class CorruptObjectError(StoreError):
    """A stored object (a digest, the feed index) cannot be read as what it should be."""


class PreconditionFailed(StoreError):
    """A conditional write lost a race: the object changed since it was read."""
