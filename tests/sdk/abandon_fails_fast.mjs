// The official OpenAI SDK for Node, default retries, against a gateway that abandons: the call must
// fail at once with a RateLimitError carrying the gateway's message, because the 429 says
// `x-should-retry: false`: the gateway's /metrics must count exactly one refused request (no SDK
// retry, which is what made clients wait minutes). The time it took is printed, not asserted. Starts `clearhouse serve` (CLEARHOUSE_BIN, default ../../build/
// clearhouse) on a temporary config with a budget too small for any query; no upstream is needed
// (an abandoned request never reaches one). Exit status 0 on success, 1 with a message otherwise.
//
//   cd tests/sdk && npm install && npm test
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import OpenAI from "openai";

const bin = process.env.CLEARHOUSE_BIN ?? resolve(import.meta.dirname, "../../build/clearhouse");
const dir = mkdtempSync(join(tmpdir(), "clearhouse-sdk-"));
writeFileSync(join(dir, "gateway.yaml"), [
  "listen: 127.0.0.1:0",
  "ledger: ledger.db",
  "budget: {completion_tokens: 100, window_seconds: 3600}",
  "upstreams:",
  "  - {name: nowhere, base_url: 'http://127.0.0.1:9', model: m}",
  "",
].join("\n"));

// The SDK's error headers: a Headers object (SDK 5 and later) or a plain object (SDK 4).
function header(headers, name) {
  return typeof headers?.get === "function" ? headers.get(name) : headers?.[name];
}

function fail(message) {
  console.error(`sdk check: FAILED: ${message}`);
  process.exitCode = 1;
}

const server = spawn(bin, ["serve", "--config", join(dir, "gateway.yaml")], {
  stdio: ["ignore", "pipe", "pipe"],
});
let stderr = "";
server.stderr.on("data", (d) => { stderr += d; });
const address = await new Promise((done, reject) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on (\S+)/);
    if (m) done(m[1]);
  });
  server.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
});

try {
  const client = new OpenAI({ baseURL: `http://${address}/v1`, apiKey: "unused" });  // maxRetries 2
  const started = performance.now();
  let error;
  try {
    await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "How many primes are below 100?" }],
    });
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - started;
  if (!(error instanceof OpenAI.RateLimitError)) {
    fail(`expected a RateLimitError, got ${error?.constructor?.name}: ${error?.message}`);
  } else if (error.code !== "query_abandoned" || header(error.headers, "x-should-retry") !== "false") {
    fail(`unexpected refusal: code ${error.code}, x-should-retry ${header(error.headers, "x-should-retry")}`);
  } else {
    const metrics = await (await fetch(`http://${address}/metrics`)).text();
    const line = metrics.split("\n").find((l) =>
      l.startsWith('clearhouse_requests_total{route="chat_completions",code="429"}'));
    const refused = line ? Number(line.split(" ").pop()) : 0;
    if (refused !== 1) {
      fail(`the gateway saw ${refused} refused requests; the SDK must not retry an abandonment`);
    } else {
      console.log(`sdk check: RateLimitError after ${ms.toFixed(0)} ms, no retry: ${error.message}`);
    }
  }
} finally {
  server.kill("SIGTERM");
  await new Promise((done) => server.on("exit", done));
  rmSync(dir, { recursive: true, force: true });
}
