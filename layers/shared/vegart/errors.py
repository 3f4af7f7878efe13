"""The contract's error statuses as exceptions, so that any layer can end a request properly.

Each class carries its status and a message meant for a person. Messages never hold upstream
keys, hosts or stack traces: whatever raises one of these is deciding what the client reads.
"""

from __future__ import annotations


class ContractError(Exception):
    """An answer other than 200, with the status the contract gives it."""

    status: int = 500
    default_message: str = "Internal error"

    def __init__(
        self, message: str | None = None, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.headers = dict(headers or {})


class BadRequest(ContractError):
    status = 400
    default_message = "Invalid parameters or request format"


class Unauthorized(ContractError):
    status = 401
    default_message = "Unauthorized. API key is invalid or may have expired"


class Forbidden(ContractError):
    status = 403
    default_message = "Forbidden"


class NotFound(ContractError):
    status = 404
    default_message = "Not found"


class MethodNotAllowed(ContractError):
    status = 405
    default_message = "Method not allowed"


class InsufficientCredits(ContractError):
    status = 406
    default_message = "Insufficient credits"


class RateLimited(ContractError):
    """429: the client must wait ``retry_after`` seconds, which the answer says in Retry-After."""

    status = 429
    default_message = "Rate limit exceeded. Please slow down and try again later"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, headers={"Retry-After": str(self.retry_after)})


class NoCapacity(RateLimited):
    """429: the render backend has nothing running to render with, and is starting it.

    A GPU endpoint scaled to zero answers so until a copy of the model is up, which takes
    minutes: longer than any request may wait. A v1 request is answered at once, with a
    ``Retry-After`` of about the time a copy needs (a rate limit, in the contract's words:
    "come back later", and nothing charged); a v2 job waits in its queue instead.
    """

    default_message = (
        "The render backend is starting after an idle period; retry after the time in "
        "Retry-After, or submit the render to the v2 API, which waits for it"
    )


class InternalError(ContractError):
    status = 500
    default_message = "Internal server error"


class BadGateway(ContractError):
    status = 502
    default_message = "The render backend failed; please try again"


class GatewayTimeout(ContractError):
    status = 504
    default_message = "The render backend did not answer in time"


class DeadlineExceeded(GatewayTimeout):
    """504 because the request's own time ran out, not because the backend said 504.

    The retry loop tells the two apart: running out of time while retrying a backend that kept
    failing is still the backend failing (502), whereas a backend that answered 504, or never
    answered at all, is a 504.
    """


_BY_STATUS: dict[int, type[ContractError]] = {
    error.status: error
    for error in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        InsufficientCredits,
        InternalError,
        BadGateway,
        GatewayTimeout,
    )
}


#: The 429s by name: what a render lease records of one, so that its watchers answer the same.
_RATE_LIMITS: dict[str, type[RateLimited]] = {
    kind.__name__: kind for kind in (RateLimited, NoCapacity)
}


def error_for_status(
    status: int, message: str, *, retry_after: int | None = None, kind: str = ""
) -> ContractError:
    """The contract's error for ``status``: how one request answers another's failure.

    A status outside the contract's table is the backend failing (502). ``kind`` is the class
    name of the original error: a watcher of a render refused for want of a GPU copy gets
    :class:`NoCapacity` too, so that a job among them waits for the copy as its own would.
    """
    if status == RateLimited.status:
        limited = _RATE_LIMITS.get(kind, RateLimited)
        return limited(message or None, retry_after=retry_after or 1)
    return _BY_STATUS.get(status, BadGateway)(message or None)
