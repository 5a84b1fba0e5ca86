"""Fake upstream providers: real HTTP servers speaking each vendor's wire format, scriptable per request.

`FakeOpenAI` speaks Chat Completions (and vLLM's error shapes), `FakeAnthropic` the Messages API and
`FakeGemini` generateContent; `FakeAzureOpenAI`, `FakeMistral`, `FakeOllama` and `FakeBedrock` answer as the OpenAI
fake does in their vendor's paths and shapes (`rewriting`). Tests and the benchmark run them in-process
(`async with FakeOpenAI.running(port=0) as fake: fake.url`); the embedded default and containers run
one as a program, `python -m switchyard.fakes [--wire openai|anthropic|gemini|azure|mistral|ollama|bedrock]`
(see `__main__`).
Each speaks its vendor's vocabulary from `switchyard.wire` and imports nothing from the services.
"""

from __future__ import annotations

from switchyard.fakes.anthropic_fake import FakeAnthropic
from switchyard.fakes.azure_fake import FakeAzureOpenAI
from switchyard.fakes.bedrock_fake import FakeBedrock
from switchyard.fakes.gemini_fake import FakeGemini, FakeGeminiOptions
from switchyard.fakes.mistral_fake import FakeMistral
from switchyard.fakes.ollama_fake import FakeOllama
from switchyard.fakes.openai_fake import FakeOpenAI, FakeOptions

__all__ = [
    "FakeAnthropic",
    "FakeAzureOpenAI",
    "FakeBedrock",
    "FakeGemini",
    "FakeGeminiOptions",
    "FakeMistral",
    "FakeOllama",
    "FakeOpenAI",
    "FakeOptions",
]
