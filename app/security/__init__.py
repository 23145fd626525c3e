"""Request hardening: token keys, body and CSRF guards, GraphQL limits, websocket policy."""
