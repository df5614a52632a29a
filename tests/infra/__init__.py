"""Offline tests of the CDK app, the container definition and the deploy-time helpers."""
