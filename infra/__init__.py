"""Shipit on AWS: the CDK app (`cdk.json` runs `python -m infra.app`) and its deploy-time helpers."""
