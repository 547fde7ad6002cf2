// Bundle the page (page/peer.js and livekit-client) into dist/: one script and the
// HTML page that loads it, opened by driver.mjs as a file.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, 'page', 'peer.js')],
  outfile: join(out, 'peer.bundle.js'),
  bundle: true,
  format: 'iife',
  target: 'chrome120',
  logLevel: 'warning',
});
await copyFile(join(here, 'page', 'index.html'), join(out, 'index.html'));
