"""v2 jobs: a job's record and its store, its public documents, submitting one, the worker
that renders it, and the outbox of its completion event.

``record`` is the job itself (its statuses, its credit's and its webhook's states, how it can
end) and imports nothing of the store; ``store`` holds the conditional writes that change it.
"""
