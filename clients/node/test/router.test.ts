// The example client against a running gateway (the variables are those of clients/python/tests/conftest.py).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

import { FinishReason } from "../src/gen/switchyard/common/v1/chat_pb.js";
import { RequestContextSchema } from "../src/gen/switchyard/common/v1/context_pb.js";
import { CacheResult } from "../src/gen/switchyard/common/v1/route_pb.js";
import { bearer, connectRouter, userMessage } from "../src/router.js";

function required(name: string): string {
  const value = process.env[name];
  assert.ok(value, `set ${name}: these tests call a running Switchyard gateway`);
  return value;
}

const router = connectRouter({ target: required("SWITCHYARD_TARGET"), tlsDir: required("SWITCHYARD_TLS_DIR") });
const apiKey = required("SWITCHYARD_API_KEY");
// Prompts differ by a nonce only: the semantic cache would answer them as paraphrases of each other.
const context = create(RequestContextSchema, { hints: { cacheBypass: true } });

function ask(): { model: string; messages: ReturnType<typeof userMessage>[] } {
  return { model: "default", messages: [userMessage(`node hello ${randomUUID()}`)] };
}

test("a chat completion names the deployment that answered", async () => {
  const reply = await router.chatCompletion({ request: ask(), context }, bearer(apiKey));
  const choice = reply.completion?.choices[0];
  assert.equal(choice?.message?.content.case, "text");
  assert.ok(choice?.message?.content.value);
  assert.equal(choice?.finishReason, FinishReason.STOP);
  assert.ok((reply.completion?.usage?.totalTokens ?? 0) > 0);
  assert.match(reply.route?.deploymentId ?? "", /^default-/);
  assert.equal(reply.route?.cache, CacheResult.BYPASS);
});

test("a stream delivers chunks, then usage and the route", async () => {
  const request = { ...ask(), stream: true, streamOptions: { includeUsage: true } };
  const messages = [];
  for await (const message of router.streamChatCompletion({ request, context }, bearer(apiKey))) {
    messages.push(message);
  }
  const chunks = messages.flatMap((m) => m.chunks);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.ok(chunks.length > 1 && text, "the answer arrives in pieces");
  assert.ok((chunks.at(-1)?.usage?.completionTokens ?? 0) > 0, "the usage chunk comes last");
  assert.match(messages.at(-1)?.route?.deploymentId ?? "", /^default-/);
});

test("a bad key is refused as UNAUTHENTICATED", async () => {
  await assert.rejects(router.chatCompletion({ request: ask() }, bearer("sk-not-a-key")), (error: unknown) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.Unauthenticated);
    return true;
  });
});
