"""Errors the state machine tells apart by name.

Step Functions sees a Lambda's exception class name as the error name, so a transient
cause (throttling, a 5xx, a dropped connection) is re-raised as ``TransientError`` and the
state machine retries only that with backoff; anything else is a real failure of the item
and is caught, recorded in the run's ``failures.json`` and notified.
"""

from __future__ import annotations

import botocore.exceptions

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


class TransientError(RuntimeError):
    """Worth retrying: the same call may well succeed in a few seconds."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    if isinstance(
        exc,
        (
            botocore.exceptions.ConnectionError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ),
    ):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code", "") in TRANSIENT_CODES or status >= 500
    return False
