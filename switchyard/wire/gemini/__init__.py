"""The Gemini API's vocabulary (generateContent), for the adapter and the fake that speak it.

Translation stays with its user, the adapter (`switchyard.services.providers.adapters.gemini_*`);
what the adapter and the fake must spell the same way is in `vocabulary`. The stream's framing
(bare JSON errors between SSE events) is read with `switchyard.wire.sse.GeminiSSEParser`.
"""
