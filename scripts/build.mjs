// `npm run build`: compiles the package's TypeScript to dist/ (JavaScript, declarations, source maps)
// and copies the files tsc does not emit: the thread entry points of the local stack (plain
// JavaScript) and the console's page. Run by `npm pack` (prepack) before the tarball is made; it
// writes to stderr only.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  // stdout stays clean: `npm pack --json` prints its report there after this runs.
  stdio: ['ignore', 'inherit', 'inherit'],
});
for (const file of readdirSync(join(root, 'infra/local')).filter((name) => name.endsWith('.mjs'))) {
  cpSync(join(root, 'infra/local', file), join(dist, 'infra/local', file));
}
cpSync(join(root, 'infra/local/console'), join(dist, 'infra/local/console'), { recursive: true });
console.error(`built ${dist}`);
