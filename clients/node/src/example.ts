// The example: one chat completion, then the same question streamed.
//   SWITCHYARD_TARGET=127.0.0.1:50051 SWITCHYARD_TLS_DIR=./switchyard-tls SWITCHYARD_API_KEY=sk-... npm run example
import { bearer, connectRouter, userMessage } from "./router.js";

const target = process.env.SWITCHYARD_TARGET ?? "127.0.0.1:50051";
const tlsDir = process.env.SWITCHYARD_TLS_DIR ?? "switchyard-tls";
const apiKey = process.env.SWITCHYARD_API_KEY ?? "";
const model = process.env.SWITCHYARD_MODEL ?? "default";

const router = connectRouter({ target, tlsDir });
const request = { model, messages: [userMessage("Say hello in five words.")] };

const reply = await router.chatCompletion({ request }, bearer(apiKey));
console.log(`${reply.route?.deploymentId}: ${reply.completion?.choices[0]?.message?.content.value}`);

for await (const message of router.streamChatCompletion({ request: { ...request, stream: true } }, bearer(apiKey))) {
  for (const chunk of message.chunks) {
    process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
  }
}
process.stdout.write("\n");
