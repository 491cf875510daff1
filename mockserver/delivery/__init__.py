"""Delivery: webhooks and uploadEndpoint PUTs of finished jobs, retried and logged (``engine``)."""
