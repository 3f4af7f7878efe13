"""Checks of the deployment artefacts: template.yaml, the layer build and docs/openapi.yaml."""
