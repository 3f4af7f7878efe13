"""The gateway on a workstation: the template's resources in moto, the functions behind HTTP.

Development tooling only; nothing here is deployed.
"""
