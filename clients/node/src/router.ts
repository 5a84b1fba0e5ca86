// A RouterService client over gRPC with mutual TLS, and the virtual key on every call.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { type ChatMessage, ChatMessageSchema, Role } from "./gen/switchyard/common/v1/chat_pb.js";
import { RouterService } from "./gen/switchyard/router/v1/router_pb.js";

// The name the router's certificate carries: the client checks it reached the router, whatever address it dials.
export const ROUTER_NAME = "router.switchyard.internal";

export interface RouterOptions {
  // target is the router's gRPC address, host:port.
  target: string;
  // tlsDir holds ca.crt, client.crt and client.key, as `switchyard certs dev` writes them.
  tlsDir: string;
}

export type RouterClient = Client<typeof RouterService>;

// connectRouter returns a RouterService client speaking gRPC over HTTP/2 with mutual TLS.
export function connectRouter({ target, tlsDir }: RouterOptions): RouterClient {
  const transport = createGrpcTransport({
    baseUrl: `https://${target}`,
    nodeOptions: {
      ca: readFileSync(join(tlsDir, "ca.crt")),
      cert: readFileSync(join(tlsDir, "client.crt")),
      key: readFileSync(join(tlsDir, "client.key")),
      servername: ROUTER_NAME,
    },
  });
  return createClient(RouterService, transport);
}

// bearer returns the call options carrying a virtual key and a deadline.
export function bearer(apiKey: string, timeoutMs = 30_000): { headers: Record<string, string>; timeoutMs: number } {
  return { headers: { authorization: `Bearer ${apiKey}` }, timeoutMs };
}

// userMessage returns a user turn of a chat request.
export function userMessage(text: string): ChatMessage {
  return create(ChatMessageSchema, { role: Role.USER, content: { case: "text", value: text } });
}
