"""What several test folders share: harnesses, builders and readers that are not fixtures.

Fixtures live in the ``conftest.py`` of the folder whose tests use them; anything a test
imports comes from here (or from the dev kit, which benchmarks and the local stack share too),
never from another folder's ``conftest.py`` or test module.
"""
