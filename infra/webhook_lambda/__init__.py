"""The webhook-registration custom resource's Lambda code (shipped as its own asset)."""
