"""The two kinds of section in the configuration file: LiteLLM's, open to keys not read yet; Switchyard's, closed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LiteLLMSection(BaseModel):
    """A section LiteLLM defines: keys Switchyard does not use yet are accepted, so LiteLLM files load unchanged."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Section(BaseModel):
    """A section Switchyard defines: an unknown key is a mistake and is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
