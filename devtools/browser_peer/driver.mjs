// Runs headless Chromium on the bundled page and relays calls from the Python
// driver (devtools/browser_peer.py): one JSON object per line on stdin,
// {"id", "method", "params"}, answered on stdout by {"id", "result"} or
// {"id", "error"}. The page's console goes to stderr. Closing stdin ends it all.
//
// Chromium is the system's (CHROMIUM, default /usr/bin/chromium): playwright-core
// never downloads a browser.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const extraArgs = process.env.BROWSER_PEER_ARGS ? JSON.parse(process.env.BROWSER_PEER_ARGS) : [];

const args = [
  // A fake camera (moving test card) and microphone (beeps), granted without asking.
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  // Remote audio plays with no user gesture, as after a click on "join".
  '--autoplay-policy=no-user-gesture-required',
  // Real host candidates, not mDNS names: the sandbox has no mDNS responder.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--disable-gpu',
  // The tests run as root, where Chromium's sandbox cannot start.
  ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []),
  ...extraArgs,
];

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const browser = await chromium.launch({ executablePath, headless: true, args });
const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
const page = await context.newPage();
page.on('console', (message) => process.stderr.write(`[page ${message.type()}] ${message.text()}\n`));
page.on('pageerror', (error) => process.stderr.write(`[page error] ${error.stack || error}\n`));
await page.goto(pathToFileURL(join(here, 'dist', 'index.html')).href);
await page.waitForFunction(() => typeof window.visioPeer === 'object');
send({ event: 'ready', version: browser.version() });

const methods = new Set(['connect', 'stats', 'chat', 'react', 'raiseHand', 'close']);
let closing = false;

async function shutdown(code) {
  if (closing) return;
  closing = true;
  try {
    await browser.close();
  } finally {
    process.exit(code);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    send({ event: 'bad-request', line });
    return;
  }
  const { id, method, params = [] } = request;
  if (method === 'exit') {
    send({ id, result: null });
    await shutdown(0);
    return;
  }
  if (!methods.has(method)) {
    send({ id, error: `unknown method ${method}` });
    return;
  }
  try {
    const result = await page.evaluate(
      ([name, values]) => window.visioPeer[name](...values),
      [method, params],
    );
    send({ id, result: result === undefined ? null : result });
  } catch (error) {
    send({ id, error: String(error && error.message ? error.message : error) });
  }
});
lines.on('close', () => shutdown(0));
browser.on('disconnected', () => {
  if (!closing) {
    process.stderr.write('chromium exited\n');
    process.exit(2);
  }
});
