"""What a provider key's shape says about its scope, where the provider shows it in the key.

    openai     sk-proj-... (project key), sk-svcacct-... (service account): scoped, fine
               sk-admin-... : an organisation admin key, it manages users, projects and keys
               another long sk-... (a user key, legacy or sk-None-): it reaches every project its owner can
    anthropic  sk-ant-admin...: an Admin API key, which manages the organisation, not meant for Messages calls
    (not checked) gemini: a Google API key shows no restrictions; vllm: the server decides what a key means

The warning names the kind of key, never the key.
"""

from __future__ import annotations

# A user key is long; short "sk-..." strings are placeholders for local fakes, not keys worth a warning.
_MIN_USER_KEY = 40
_SCOPED_OPENAI = ("sk-proj-", "sk-svcacct-")


def scope_warning(provider: str, key: str) -> str | None:
    """Returns why a key looks wider than a gateway needs (what to use instead), None when it does not."""
    if provider == "openai":
        if key.startswith(_SCOPED_OPENAI):
            return None
        if key.startswith("sk-admin-"):
            return (
                "its key is an OpenAI admin key (sk-admin-...), which manages the whole organisation; "
                "use a project key (sk-proj-...)"
            )
        if key.startswith("sk-") and len(key) >= _MIN_USER_KEY:
            return (
                "its key is an OpenAI user key (sk-... without proj-), which reaches every project its owner can; "
                "use a project key (sk-proj-...) or a service account key (sk-svcacct-...)"
            )
    if provider == "anthropic" and key.startswith("sk-ant-admin"):
        return (
            "its key is an Anthropic Admin API key (sk-ant-admin...), which manages the organisation; "
            "use a workspace API key (sk-ant-api...)"
        )
    return None
