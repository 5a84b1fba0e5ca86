"""Secret references in the config file: what each form names, and how a field is picked from what a
secret manager returned, with errors that name fields and locations but never a value."""

from __future__ import annotations

import re

import pytest

from switchyard.config.secrets import SecretRef, parse_secret_ref, pick_field, vault_mount_and_path


@pytest.mark.parametrize(
    ("value", "ref"),
    [
        ("sk-proj-literal", None),
        (None, None),
        ("os.environ/OPENAI_API_KEY", SecretRef("env", "OPENAI_API_KEY")),
        ("file:/run/secrets/openai/api-key", SecretRef("file", "/run/secrets/openai/api-key")),
        ("file:///run/secrets/openai", SecretRef("file", "/run/secrets/openai")),
        ("vault:secret/data/openai#api_key", SecretRef("vault", "secret/data/openai", "api_key")),
        ("vault:kv/team-a/data/llm/openai", SecretRef("vault", "kv/team-a/data/llm/openai")),
        ("aws-sm:prod/openai#api_key", SecretRef("aws-sm", "prod/openai", "api_key")),
        (
            "aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/openai-AbCdEf#key",
            SecretRef("aws-sm", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/openai-AbCdEf", "key"),
        ),
    ],
)
def test_each_reference_form_names_where_its_key_lives(value: str | None, ref: SecretRef | None) -> None:
    assert parse_secret_ref(value) == ref


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("os.environ/", "names no variable"),
        ("file:run/secrets/openai", "absolute path"),
        ("vault:openai", "<mount>/data/<path>"),
        ("aws-sm:#api_key", "names no secret"),
    ],
)
def test_a_malformed_reference_is_refused_with_the_reason(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_secret_ref(value)


def test_only_file_and_secret_manager_references_are_watched_and_none_prints_a_value() -> None:
    assert [parse_secret_ref(v).watched for v in ("file:/k", "vault:a/data/b", "aws-sm:c")] == [True] * 3  # type: ignore[union-attr]
    assert not SecretRef("env", "OPENAI_API_KEY").watched
    assert str(SecretRef("vault", "secret/data/openai", "api_key")) == "vault secret/data/openai#api_key"


def test_vault_locations_split_into_mount_and_path() -> None:
    assert vault_mount_and_path("secret/data/openai") == ("secret", "openai")
    assert vault_mount_and_path("kv/team-a/data/llm/openai") == ("kv/team-a", "llm/openai")
    assert vault_mount_and_path("secret/openai") == ("secret", "openai")


def test_fields_are_picked_from_texts_json_objects_and_field_maps() -> None:
    assert pick_field("sk-proj-abc\n", SecretRef("file", "/k")) == "sk-proj-abc"
    assert pick_field('{"api_key": "sk-1", "org": "o"}', SecretRef("aws-sm", "s", "api_key")) == "sk-1"
    assert pick_field({"api_key": " sk-2 "}, SecretRef("vault", "secret/data/x")) == "sk-2", "the only field"
    assert pick_field({"api_key": "sk-3", "org": "o"}, SecretRef("vault", "secret/data/x", "api_key")) == "sk-3"


@pytest.mark.parametrize(
    ("payload", "ref", "problem"),
    [
        (
            {"token": "sk-secret-1", "org": "o"},
            SecretRef("vault", "secret/data/x", "api_key"),
            "(its fields: org, token)",
        ),
        ({"token": "sk-secret-1", "org": "o"}, SecretRef("vault", "secret/data/x"), "has 2 fields: name one"),
        ("sk-secret-1", SecretRef("aws-sm", "s", "api_key"), "not a JSON object"),
        ('{"api_key": 12}', SecretRef("aws-sm", "s", "api_key"), "is a int, not a string"),
        ("  \n", SecretRef("file", "/k"), "is empty"),
    ],
)
def test_a_field_that_is_not_there_is_named_without_any_value(payload: object, ref: SecretRef, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as caught:
        pick_field(payload, ref)  # type: ignore[arg-type]
    assert "sk-secret-1" not in str(caught.value)
