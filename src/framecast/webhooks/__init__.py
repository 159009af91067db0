"""The webhook sender: the HTTP client behind ``services.ports.WebhookSender`` (httpx, standardwebhooks)."""
