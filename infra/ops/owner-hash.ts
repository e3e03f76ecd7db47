import { parseArgs } from 'node:util';
import { SecretsManagerKeyRing } from '../../shared/aws/secrets-manager-key-ring.js';
import { FileKeyRing } from '../../shared/file-key-ring.js';
import { ownerHasher } from '../../shared/owner-hash.js';
import { isOwnerIdShaped, OWNER_ID_FORMS } from '../../shared/owner-id.js';
import { deploymentKeyPath } from '../local/dev-key.js';

const usage = `Usage: npm run -s owner-hash -- (--local [--data-dir DIR] | --secret-arn ARN) OWNER...

Prints the ownerHash the API logs for each owner id (${OWNER_ID_FORMS}), one per line, so an
operator can find a caller's lines in the logs (and, joined on requestId, in the access log). The hash is
keyed with the deployment key: only someone who can read the key can compute it.

  --local           the key of the local stack (.offload/deployment-key, or DIR/deployment-key)
  --secret-arn ARN  a deployed stack's key (the DeploymentKeySecretArn output; needs GetSecretValue)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    local: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'secret-arn': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || positionals.length === 0 || values.local === Boolean(values['secret-arn'])) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}

const malformed = positionals.filter((owner) => !isOwnerIdShaped(owner));
if (malformed.length > 0) {
  // A typo would print a hash that matches no log line.
  console.error(`Owner ids look like ${OWNER_ID_FORMS}; got: ${malformed.join(', ')}`);
  process.exit(2);
}

const keyRing = values['secret-arn']
  ? new SecretsManagerKeyRing(values['secret-arn'])
  : new FileKeyRing(deploymentKeyPath(values['data-dir']));
const hash = ownerHasher(await keyRing.deploymentKey());
for (const owner of positionals) console.log(`${hash(owner)}  ${owner}`);
