// The official OpenAI SDK for Node drives the real gateway end to end: every endpoint the gateway
// serves (chat completions, completions, the Responses API through an upstream that serves it and
// through one that serves only chat), streamed and not, an aborted stream, and the ledger
// afterwards. Starts the real `clearhouse replay-upstream` (lorem answers of 300 tokens, a quarter
// reported as reasoning, paced so a stream can be left midway) and `clearhouse serve` in front of
// it with an API key, all on port 0. Each response must parse in the SDK, carry text and the usage
// the client asked for (and none it did not); each request settles in the ledger the tokens (and
// reasoning tokens) the client was told, or, where it was told none, between what it saw and the
// cap; no reservation is left open. Exit status 0 on success, 1 with the failed checks otherwise.
//
//   cd tests/sdk && npm install && node gateway_e2e.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import OpenAI from "openai";
import { metric, start } from "./lib/servers.mjs";

const bin = process.env.CLEARHOUSE_BIN ?? resolve(import.meta.dirname, "../../build/clearhouse");
const data = resolve(import.meta.dirname, "../../data");
const model = "Qwen2-7B-Instruct";  // served by an upstream with api: chat
const responsesModel = "lorem-responses";  // served by an upstream with api: responses
const dir = mkdtempSync(join(tmpdir(), "clearhouse-sdk-e2e-"));
const failures = [];
let checks = 0;

function check(ok, what) {
  checks += 1;
  if (!ok) failures.push(what);
}

const key = "ch-sdk-e2e-key";
const keySha = execFileSync(bin, ["hash-key"], { input: `${key}\n` }).toString().trim();

const upstream = await start(bin, [
  "replay-upstream", "--data", data, "--port", "0", "--unknown", "lorem", "--lorem-tokens", "300",
  "--tokens-per-second", "2000", "--reasoning-share", "0.25", "--reasoning-item",
]);
writeFileSync(join(dir, "gateway.yaml"), [
  "listen: 127.0.0.1:0",
  `ledger: ${join(dir, "ledger.db")}`,
  "budget: {completion_tokens: 1000000, window_seconds: 0}",
  "policy: uniform",
  "upstreams:",
  `  - {name: replay, base_url: 'http://${upstream.address}/v1', model: ${model}}`,
  `  - {name: replay-responses, base_url: 'http://${upstream.address}/v1', model: ${responsesModel},` +
    " api: responses}",
  "keys:",
  `  - {id: sdk, sha256: ${keySha}}`,
  "",
].join("\n"));
const gateway = await start(bin, ["serve", "--config", join(dir, "gateway.yaml")]);
const client = new OpenAI({ baseURL: `http://${gateway.address}/v1`, apiKey: key, maxRetries: 0 });
const question = [{ role: "user", content: "What is 17 times 23?" }];

async function chat() {
  const r = await client.chat.completions.create({ model, messages: question, max_completion_tokens: 64 });
  check(typeof r.choices[0]?.message?.content === "string" && r.choices[0].message.content.length > 0,
    "chat: an answer with text");
  check(r.usage?.completion_tokens > 0 && r.usage.completion_tokens <= 64, "chat: usage within the cap");
  check(r.choices[0]?.finish_reason === "length", "chat: a 300-token answer capped at 64 ends by length");
  return { usage: r.usage.completion_tokens, reasoning: r.usage.completion_tokens_details?.reasoning_tokens };
}

async function chatStream(includeUsage) {
  const what = `chat stream (include_usage ${includeUsage})`;
  const stream = await client.chat.completions.create({
    model, messages: question, max_completion_tokens: 48, stream: true,
    ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
  });
  let text = "";
  let usage = null;
  let chunks = 0;
  let withText = 0;  // about one token each
  for await (const chunk of stream) {
    chunks += 1;
    const piece = chunk.choices[0]?.delta?.content ?? "";
    text += piece;
    if (piece) withText += 1;
    if (chunk.usage) usage = chunk.usage;
  }
  check(chunks > 1 && text.length > 0, `${what}: chunks with text`);
  if (includeUsage) {
    check(usage?.completion_tokens > 0 && usage.completion_tokens <= 48, `${what}: usage within the cap`);
  } else {
    check(usage === null, `${what}: no usage the client did not ask for`);
  }
  return { seen: withText, usage: usage?.completion_tokens, cap: 48 };
}

async function completions() {
  const r = await client.completions.create({ model, prompt: "Count to ten:", max_tokens: 32 });
  check(typeof r.choices[0]?.text === "string" && r.choices[0].text.length > 0, "completions: text");
  check(r.usage?.completion_tokens > 0 && r.usage.completion_tokens <= 32, "completions: usage");
  return { usage: r.usage.completion_tokens };
}

// A Responses request capped below the 300-token answer: `incomplete` for max_output_tokens, with
// text, and usage that counts the reasoning among the output tokens.
function checkCappedResponse(what, r, cap) {
  check(r?.status === "incomplete" && r.incomplete_details?.reason === "max_output_tokens",
    `${what}: incomplete for max_output_tokens (got ${r?.status})`);
  const message = r?.output?.find((item) => item.type === "message");
  check(message?.content?.[0]?.type === "output_text" && message.content[0].text.length > 0,
    `${what}: a message with output_text`);
  check(typeof r?.output_text === "string" && r.output_text.length > 0, `${what}: the SDK's output_text`);
  const usage = r?.usage;
  check(usage?.output_tokens > 0 && usage.output_tokens <= cap, `${what}: output_tokens within the cap`);
  check(usage?.output_tokens_details?.reasoning_tokens === Math.round(usage?.output_tokens / 4),
    `${what}: a quarter of the output tokens reported as reasoning`);
  check(usage?.input_tokens > 0 && usage.total_tokens === usage.input_tokens + usage.output_tokens,
    `${what}: input and total tokens`);
  return { usage: usage?.output_tokens, reasoning: usage?.output_tokens_details?.reasoning_tokens };
}

async function responses(upstreamModel) {
  const what = `responses (${upstreamModel === model ? "translated to chat" : "api: responses"})`;
  const r = await client.responses.create({
    model: upstreamModel, instructions: "Answer briefly.", input: "What is 17 times 23?",
    max_output_tokens: 40, reasoning: { effort: "low" },
  });
  return checkCappedResponse(what, r, 40);
}

async function responsesStream(upstreamModel) {
  const what = `responses stream (${upstreamModel === model ? "translated to chat" : "api: responses"})`;
  const stream = await client.responses.create({
    model: upstreamModel, input: [{ role: "user", content: "What is 17 times 23?" }],
    max_output_tokens: 32, stream: true,
  });
  const types = [];
  let text = "";
  let last = null;
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.response) last = event.response;
  }
  check(types[0] === "response.created", `${what}: starts with response.created`);
  check(types.at(-1) === "response.incomplete", `${what}: ends with response.incomplete`);
  check(types.includes("response.output_text.done") && text.length > 0, `${what}: text deltas`);
  return checkCappedResponse(what, { ...last, output_text: text }, 32);
}

// Leaves a 256-token stream after three chunks: the gateway must still charge what the upstream
// generated (at least what the client saw, at most the cap).
async function abortedStream() {
  const stream = await client.chat.completions.create({
    model, messages: question, max_completion_tokens: 256, stream: true,
  });
  let chunks = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content) chunks += 1;
    if (chunks === 3) break;  // leaving the loop aborts the request
  }
  check(chunks === 3, "aborted stream: three chunks before leaving");
  return { seen: chunks, cap: 256 };
}

async function metrics() {
  return (await fetch(`http://${gateway.address}/metrics`)).text();
}

async function settledWhenIdle() {
  for (let i = 0; i < 200; ++i) {  // the drain of the aborted stream ends within about 0.2 s
    const text = await metrics();
    if (metric(text, "clearhouse_open_reservations") === 0 &&
        metric(text, "clearhouse_in_flight_requests") === 0) return text;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error("reservations still open 10 s after the last request");
}

// Runs one request and checks what the ledger settled for it, once nothing is in flight: the usage
// the client received, or, where it received none, between what it saw and the cap.
async function settles(what, request) {
  const before = await settledWhenIdle();
  const r = await request();
  const after = await settledWhenIdle();
  const delta = (name) => metric(after, name) - metric(before, name);
  const settled = delta("clearhouse_tokens_used_total");
  if (r.reasoning !== undefined) {
    const reasoning = delta("clearhouse_reasoning_tokens_total");
    check(reasoning === r.reasoning, `${what}: settled ${reasoning} reasoning tokens, the client was told ${r.reasoning}`);
  }
  if (r.usage !== undefined) {
    check(settled === r.usage, `${what}: settled ${settled} tokens, the client was told ${r.usage}`);
  } else {
    check(settled >= r.seen && settled <= r.cap,
      `${what}: settled ${settled} tokens, must be in [${r.seen} seen, ${r.cap} cap]`);
  }
}

let status = 0;
try {
  await settles("chat", chat);
  await settles("chat stream with usage", () => chatStream(true));
  await settles("chat stream without usage", () => chatStream(false));
  await settles("completions", completions);
  await settles("aborted stream", abortedStream);
  for (const m of [responsesModel, model]) {
    await settles(`responses via ${m}`, () => responses(m));
    await settles(`responses stream via ${m}`, () => responsesStream(m));
  }
  const text = await metrics();
  check(metric(text, "clearhouse_client_aborts_total") === 1, "metrics: one client abort counted");
  check(metric(text, "clearhouse_reserved_tokens") === 0, "metrics: nothing reserved at the end");
} catch (e) {
  failures.push(`unexpected error: ${e?.constructor?.name}: ${e?.message}`);
} finally {
  await gateway.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`sdk e2e: FAILED ${failures.length} of ${checks} checks:\n  ${failures.join("\n  ")}`);
  if (gateway.stderr()) console.error(`gateway stderr:\n${gateway.stderr().slice(-2000)}`);
  status = 1;
} else {
  console.log(`sdk e2e: ${checks} checks passed (chat, chat streams with and without usage, ` +
    "completions, an aborted stream, responses and their streams through both upstream apis, the ledger)");
}
process.exitCode = status;
