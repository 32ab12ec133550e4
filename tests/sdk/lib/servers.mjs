// Starting the real clearhouse binary for the SDK checks: `start(bin, args)` spawns it, waits for its
// "listening on HOST:PORT" line (every server of clearhouse prints one, port 0 included) and
// returns { address, stop, stderr }. `metric(text, name)` sums every series of one metric in a
// Prometheus text exposition. Used only by the .mjs checks in this folder.
import { spawn } from "node:child_process";

export async function start(bin, args, { env } = {}) {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const log = { text: "" };
  child.stderr.on("data", (d) => { log.text += d; });
  const exited = new Promise((done) => child.on("exit", done));
  const address = await new Promise((done, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) done(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`${args[0]} exited with ${code}: ${log.text}`)));
  });
  return {
    address,
    stderr: () => log.text,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export function metric(text, name) {
  let sum = 0;
  let seen = false;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.split(" ").pop());
      seen = true;
    }
  }
  if (!seen) throw new Error(`no series of ${name} in /metrics`);
  return sum;
}
