"""The GatewayForge API: its response models and the HTTP client that calls it."""
