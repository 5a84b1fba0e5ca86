"""OpenAI's Responses API at the edge, served as chat by the router (routes.py says how)."""
