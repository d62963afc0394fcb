"""The HTTP service: REST + WebSocket over the training core. The only place pydantic lives."""
