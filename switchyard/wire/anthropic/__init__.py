"""The Anthropic Messages API's vocabulary, for the edge that serves it and the adapter and fake that speak it.

Translation stays with its user: the edge turns Messages requests into ChatRequests
(`switchyard.services.edge.anthropic`), the adapter turns ChatRequests into Messages requests
(`switchyard.services.providers.adapters.anthropic_wire`). What both sides must spell the same way
is in `vocabulary`.
"""
