"""Span attribute names: the OpenTelemetry GenAI conventions and Switchyard's own, in one place."""

from __future__ import annotations

# OpenTelemetry GenAI semantic conventions (gen_ai.*).
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
# gen_ai.provider.name values of the conventions for Switchyard's wire formats (others keep their name:
# `vllm` has none); an OpenAI-format deployment on Azure's host is `azure.ai.openai`.
GEN_AI_PROVIDER_VALUES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
}
GEN_AI_PROVIDER_AZURE_OPENAI = "azure.ai.openai"
AZURE_OPENAI_HOST_SUFFIX = ".openai.azure.com"
# The call's cost in USD: not (yet) in the GenAI conventions, but the name Langfuse and others read.
GEN_AI_USAGE_COST = "gen_ai.usage.cost"

# HTTP and RPC conventions used on our own spans.
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
HTTP_ROUTE = "http.route"
URL_FULL = "url.full"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
RPC_SYSTEM = "rpc.system"
RPC_SERVICE = "rpc.service"
RPC_METHOD = "rpc.method"
RPC_GRPC_STATUS_CODE = "rpc.grpc.status_code"
ERROR_TYPE = "error.type"

# Switchyard's own attributes (switchyard.*).
REQUEST_ID = "switchyard.request_id"
ROUTE_GROUP = "switchyard.route.group"
ROUTE_STRATEGY = "switchyard.route.strategy"
ROUTE_REASON = "switchyard.route.reason"
ROUTE_DEPLOYMENT = "switchyard.route.deployment"
ROUTE_ATTEMPTS = "switchyard.route.attempts"
# The groups planned in order (the request's own, then fallbacks), and the arm of an experiment.
ROUTE_GROUPS_TRIED = "switchyard.route.groups_tried"
ROUTE_ARM = "switchyard.route.arm"
# The experiment that applied, the content rule that rerouted the request, and where a shadow copy went.
ROUTE_EXPERIMENT = "switchyard.route.experiment"
ROUTE_RULE = "switchyard.route.rule"
ROUTE_SHADOW = "switchyard.route.shadow"
# The strategy's score of the deployment that answered (its meaning depends on the strategy).
ROUTE_SCORE = "switchyard.route.score"
# Failed attempts and skipped candidates, each as "deployment_id:reason" (e.g. "gpt-4o-1a2b:upstream_rate_limited").
ROUTE_FAILED = "switchyard.route.failed"
ROUTE_SKIPPED = "switchyard.route.skipped"
ATTEMPT_NUMBER = "switchyard.attempt.number"
# A shadow copy's outcome, on its own switchyard.shadow span and as an event of that name.
SHADOW_EVENT = "switchyard.shadow"
SHADOW_TARGET = "switchyard.shadow.target"
SHADOW_DEPLOYMENT = "switchyard.shadow.deployment"
SHADOW_STATUS = "switchyard.shadow.status"
SHADOW_LATENCY_MS = "switchyard.shadow.latency_ms"
SHADOW_TOKENS = "switchyard.shadow.tokens"
CACHE_RESULT = "switchyard.cache.result"
COST_USD = "switchyard.cost_usd"
ANALYSIS_DEGRADED = "switchyard.analysis.degraded"
# The trained models behind the analysis, as "name=version,..." (versions: switchyard.ml.artifacts).
ANALYSIS_MODELS = "switchyard.analysis.models"
STREAMING = "switchyard.streaming"
