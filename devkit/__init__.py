"""The dev kit: what the tests, the benchmarks and the local stack share, in one place.

None of it is deployed. It holds what stands for AWS around the functions: Lambda's events,
context and handler loading; the template's resources made in moto, with DynamoDB's atomic
writes; a deployment's environment; the local stack started as a process; and the chaos run's
plan, driver and invariants. Tests, benchmarks and ``local_stack`` import it, and not each
other, so that each piece exists once.
"""
