"""The HTTP face of the gateway: the only package that reads API Gateway's events.

Left empty on purpose: each function imports the modules its own routes need, and no more
(a cold start pays for every import).
"""
