// Hostile and heavy clients for scripts/bench-front-door.sh (Node.js, no packages).
//
//   node scripts/front-door-clients.mjs idle PORT N            hold N connections that send nothing
//   node scripts/front-door-clients.mjs slowloris PORT N       hold N connections, each sending one
//                                                              header byte every 2 s, never finishing
//   node scripts/front-door-clients.mjs streams PORT N KEY T   N streamed chat requests at once of T
//                                                              tokens; prints {"ok", "failed", "seconds", "reasons"}
//
// idle and slowloris print "holding N" once every connection is open, then hold them until killed.
import net from 'node:net';
import http from 'node:http';

const [mode, portText, countText, key, tokensText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
if (!mode || !port || !count) {
  console.error('usage: front-door-clients.mjs idle|slowloris|streams PORT N [KEY TOKENS]');
  process.exit(2);
}

function openConnections(n, onOpen) {
  return new Promise((resolve) => {
    const sockets = [];
    let open = 0;
    let index = 0;
    // Open in batches, so the listen backlog is not overrun.
    const batch = () => {
      for (let i = 0; i < 500 && index < n; ++i, ++index) {
        const socket = net.connect(port, '127.0.0.1', () => {
          onOpen(socket);
          if (++open === n) resolve(sockets);
        });
        socket.on('error', () => {});
        sockets.push(socket);
      }
      if (index < n) setTimeout(batch, 20);
    };
    batch();
  });
}

if (mode === 'idle') {
  await openConnections(count, () => {});
  console.log(`holding ${count}`);
  setInterval(() => {}, 1 << 30);
} else if (mode === 'slowloris') {
  const header = 'POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nX-Slow: ' + 'a'.repeat(100000);
  const sockets = await openConnections(count, () => {});
  const sent = new Map();
  setInterval(() => {
    for (const s of sockets) {
      const at = sent.get(s) ?? 0;
      if (!s.destroyed) s.write(header[at]);
      sent.set(s, at + 1);
    }
  }, 2000);
  console.log(`holding ${count}`);
} else if (mode === 'streams') {
  const tokens = Number(tokensText ?? 20);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const body = JSON.stringify({
    model: 'Qwen2-7B-Instruct', stream: true, max_tokens: tokens,
    messages: [{ role: 'user', content: 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?' }],
  });
  const start = process.hrtime.bigint();
  let ok = 0;
  let failed = 0;
  const reasons = {};  // why streams failed: "status 503", "no [DONE]", or the socket error's code
  const fail = (reason) => { ++failed; reasons[reason] = (reasons[reason] ?? 0) + 1; };
  const one = () => new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          fail(`status ${res.statusCode}: ${text.slice(0, 120)}`);
        } else if (!text.includes('data: [DONE]')) {
          fail(text.includes('"error"') ? `error event: ${text.slice(text.indexOf('"error"'), text.indexOf('"error"') + 200)}` : 'no [DONE]');
        } else {
          ++ok;
        }
        resolve();
      });
      res.on('error', (e) => { fail(`response ${e.code ?? e.message}`); resolve(); });
    });
    req.on('error', (e) => { fail(`request ${e.code ?? e.message}`); resolve(); });
    req.end(body);
  });
  await Promise.all(Array.from({ length: count }, one));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ ok, failed, seconds, reasons }));
}
