"""Switchyard: a multi-model LLM gateway built as a mesh of gRPC services.

Layers, each importing only those below it (the import-linter contracts in pyproject.toml check it):

    switchyard.cli                               the `switchyard` command
    switchyard.services.{edge,router,classifier,cache,providers}    independent of one another
    switchyard.fakes                             the fake upstreams (the embedded default and the tests)
    switchyard.{config,wire,ml,redisutil}        libraries the services share
    switchyard.runtime                           settings, errors, gRPC, telemetry, metrics, logs
    switchyard.{common,router,classifier,cache,providers}.v1    the generated contracts
"""
