"""The only FastAPI code: app factory, routers, SSE/WebSocket adapters, error handlers, the static page."""
