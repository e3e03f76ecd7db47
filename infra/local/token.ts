import { parseArgs } from 'node:util';
import { DEV_TOKEN_LIFETIME, devKeyPath, loadOrCreateDevKey, mintDevToken } from './dev-key.js';

/** `npm run -s token -- --sub NAME`: prints a token the local stack accepts, and nothing else, on stdout. */
const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    'data-dir': { type: 'string' },
    'expires-in': { type: 'string', default: DEV_TOKEN_LIFETIME },
    scope: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || !values.sub) {
  console.error(`Usage: npm run -s token -- --sub NAME [--data-dir DIR] [--expires-in 12h] [--scope "a b"]

  --sub NAME         the caller: tasks belong to owner "jwt:NAME"
  --data-dir DIR     use the key of a stack started with the same --data-dir (default: .offload/dev-key.json)
  --expires-in SPAN  lifetime, e.g. 30m, 12h, 7d (default: ${DEV_TOKEN_LIFETIME})
  --scope "a b"      space-separated OAuth scopes (the scope claim)`);
  process.exit(values.help ? 0 : 2);
}

const key = await loadOrCreateDevKey(devKeyPath(values['data-dir']));
process.stdout.write(
  `${await mintDevToken(key, { sub: values.sub, expiresAt: values['expires-in'], scope: values.scope })}\n`,
);
