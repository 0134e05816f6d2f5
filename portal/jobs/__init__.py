"""Background jobs on RQ + Redis, with an in-process fallback when no Redis is reachable.

- ``enqueue_after_commit(...)`` is what services call: nothing reaches Redis unless the transaction commits.
- ``@task`` wraps every job function: a fresh app context and session per run, the JobRecord kept current,
  transient errors retried by RQ with back-off, the final failure recorded as a sentence on the record.
"""
from portal.jobs.queue import QUEUES, enqueue_after_commit, start_tracked, task  # noqa: F401
