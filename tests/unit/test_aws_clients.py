"""The process's AWS clients: made once per function instance, from one session per process."""

from __future__ import annotations

from vegart.aws import AwsClients


def test_the_clients_of_every_instance_share_one_parsed_model() -> None:
    # Each instance makes its own clients; the service's model, parsed from megabytes of JSON,
    # is read once for the process (on Lambda an instance is a process, so nothing changes).
    first, second = AwsClients(), AwsClients()
    assert first.dynamodb() is first.dynamodb()
    assert first.dynamodb() is not second.dynamodb()
    described = [
        clients.dynamodb().meta.service_model._service_description for clients in (first, second)
    ]
    assert described[0] is described[1]
