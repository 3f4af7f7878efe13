"""vegart-admin: the operator's tool for the gateway's client API keys.

The logic lives in small modules (:mod:`.targets`, :mod:`.api_keys`, :mod:`.operations`,
:mod:`.views`) so that other tooling, such as the local stack creating its demo key, runs the
same code as the command line; :mod:`.cli` only parses arguments and prints.
"""
