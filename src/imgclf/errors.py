"""Errors a user can act on. Stage scripts print their message as one line and exit 1."""


class PipelineError(Exception):
    """Base class: the message alone tells the user what is wrong and where."""


class ParamsError(PipelineError):
    """params.yaml has an unknown key, a missing key or a value out of range."""


class DownloadError(PipelineError):
    """A download failed after its retries, or its checksum did not match."""


class DataError(PipelineError):
    """Input data is missing, malformed, empty or unsafe."""


def listed(items, limit: int = 10) -> str:
    """``a, b, c and 7 more``: the first ``limit`` of ``items`` for a one-line message, and how many are left out."""
    items = [str(item) for item in items]
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
