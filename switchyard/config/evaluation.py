"""The `switchyard.evaluation` section: which completed requests the evaluator grades, and with what judge.

    evaluation:
      sample_rate: 0.05            # share of completed requests sent to the evaluator
      groups: {cheap: 0.2}         # overrides per resolved model group,
      aliases: {auto: 0.1}         #   per requested alias,
      experiments: {ab-test: 1.0}  #   per experiment (most specific first: experiment, alias, group)
      judge: strong                # the model group that grades answers ("" grades nothing)
      langfuse:                    # optional: judge grades and feedback as Langfuse scores
        host: https://cloud.langfuse.com
        public_key: pk-lf-...
        secret_key: os.environ/LANGFUSE_SECRET_KEY   # or file:/run/secrets/langfuse, or the key itself

Shadow pairs (an answer and its shadow copy's) are always sent when a judge is named. Requests to
the judge group itself are never sampled, so grading never grades itself.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from switchyard.config.base import Section


class LangfuseSection(Section):
    """Where judge grades and user feedback are exported as Langfuse scores; an empty host turns it off."""

    host: str = ""
    public_key: str = ""
    # secret_key: the key, `os.environ/NAME` or `file:/path` (read when the evaluator starts).
    secret_key: str = ""
    # batch bounds the scores sent in one ingestion request; flush_s how long a score may wait for company.
    batch: int = Field(default=100, ge=1, le=1000)
    flush_s: float = Field(default=1.0, gt=0)
    # queue bounds the scores waiting to be sent; past it they are dropped (counted).
    queue: int = Field(default=10_000, ge=1)
    # attempts bounds how often one batch is sent before its scores count as failed.
    attempts: int = Field(default=5, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _keys_with_host(self) -> LangfuseSection:
        if self.host and not (self.public_key and self.secret_key):
            raise ValueError("langfuse needs public_key and secret_key when host is set")
        return self


class EvaluationSection(Section):
    sample_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    groups: dict[str, float] = Field(default_factory=dict)
    aliases: dict[str, float] = Field(default_factory=dict)
    experiments: dict[str, float] = Field(default_factory=dict)
    judge: str = ""
    # queue bounds the samples waiting to be sent (router) or graded (evaluator); past it they are dropped.
    queue: int = Field(default=1000, ge=1)
    # stream_max bounds the Redis stream the samples travel on (approximately: MAXLEN ~).
    stream_max: int = Field(default=100_000, ge=1)
    langfuse: LangfuseSection = LangfuseSection()

    def rate(self, experiment: str, alias: str, group: str) -> float:
        """Returns the share of requests to sample: the experiment's, alias's or group's override, else sample_rate."""
        for table, name in ((self.experiments, experiment), (self.aliases, alias), (self.groups, group)):
            if name and name in table:
                return min(max(table[name], 0.0), 1.0)
        return self.sample_rate
