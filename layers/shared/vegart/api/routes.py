"""Every route of the gateway's API, as the functions register them and the template names
them: v1's render, v2's submit and reads, and the key's webhook signing secret.

Powertools routes a path parameter as ``<request_id>``; API Gateway (and the template, and an
event's ``resource``) names it ``{request_id}``: both forms are here, side by side.
"""

from __future__ import annotations

from vegart.contract import MODEL_SLUG

#: ``POST``: a render, answered with the image (docs/contract.md, "Route").
ROUTE = f"/v1/{MODEL_SLUG}"
#: ``POST``: a job, answered at once with where to follow it.
SUBMIT_ROUTE = f"/v2/{MODEL_SLUG}"
#: ``GET``: a job's status, and its result (the output's URL once completed).
STATUS_ROUTE = "/v2/requests/<request_id>/status"
RESULT_ROUTE = "/v2/requests/<request_id>"
STATUS_RESOURCE = "/v2/requests/{request_id}/status"
RESULT_RESOURCE = "/v2/requests/{request_id}"
#: ``GET``: where a key's owner reads its webhook signing secret (Replicate's path for it).
WEBHOOK_SECRET_ROUTE = "/v2/webhooks/default/secret"  # noqa: S105 # nosec B105 # a route
#: Where a key reads its jobs, ``/v2/requests/<id>`` and ``.../status``: the authorizer's policy
#: covers the prefix.
JOBS_PREFIX = "/v2/requests/"
