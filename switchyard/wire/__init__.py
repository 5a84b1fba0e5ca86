"""Each vendor's wire format, said once: the edge, the provider adapters and the fakes all read it here.

switchyard.wire.openai       OpenAI Chat Completions JSON ⇄ protobuf, and OpenAI's vocabulary
switchyard.wire.anthropic    the Anthropic Messages vocabulary
switchyard.wire.gemini       the Gemini generateContent vocabulary
switchyard.wire.sse          Server-Sent Events framing (the parser every stream is read with)
switchyard.wire.values       JSON values ⇄ protobuf Struct, JSON type names, MalformedError
"""
