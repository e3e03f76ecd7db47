// `npm run test:package`: proves the package works for a project outside this repository, with only
// its declared dependencies. Packs offload (npm pack runs the build), installs the tarball into a
// temporary copy of examples/quickstart, then in that copy: type-checks it against the published
// declarations, runs `cdk synth` (offline: no AWS account, no Docker) and checks that the project's
// task is bundled into the worker, and runs its test, which starts `offload dev` and gets a typed
// result back through the compiled client. Run by .ci/run after npm test.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'offload-package-'));
const started = Date.now();
const step = (message) => console.log(`[test:package ${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: 'inherit', env: process.env });

try {
  step('npm pack (builds dist/ first)');
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' }),
  );
  const tarball = join(work, packed.filename);
  const shipped = packed.files.map((file) => file.path);
  for (const required of [
    'dist/client/index.js',
    'dist/infra/cdk.d.ts',
    'dist/functions/tasks/index.js',
    'bin/offload.mjs',
  ]) {
    if (!shipped.includes(required)) throw new Error(`the tarball lacks ${required}`);
  }
  const strays = shipped.filter((path) => /^(test|bench|examples)\//.test(path) || /\.test\.[jt]s$/.test(path));
  if (strays.length > 0) throw new Error(`the tarball ships files a user never needs: ${strays.join(', ')}`);
  step(`${packed.filename}: ${shipped.length} files, ${(packed.size / 1024).toFixed(0)} KB packed`);

  const project = join(work, 'quickstart');
  cpSync(join(root, 'examples/quickstart'), project, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|cdk\.out)$/.test(source),
  });
  const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  manifest.dependencies.offload = `file:${tarball}`;
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  step('npm install in a copy of examples/quickstart');
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project);

  step('typecheck against the published declarations');
  run('npm', ['run', '-s', 'typecheck'], project);

  step('cdk synth, offline');
  run('npm', ['run', '-s', 'synth'], project);
  const template = JSON.parse(readFileSync(join(project, 'cdk.out/Quickstart.template.json'), 'utf8'));
  const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
  // One function per handler factory, as the installed package declares them.
  const entries = join(project, 'node_modules/offload/dist/infra/lambda-entry.js');
  const factories = Object.values((await import(pathToFileURL(entries).href)).HANDLER_FACTORIES);
  if (functions.length !== factories.length) {
    throw new Error(`expected the ${factories.length} offload functions, found ${functions.length}`);
  }
  const bundles = readdirSync(join(project, 'cdk.out'))
    .filter((name) => name.startsWith('asset.'))
    .map((name) => {
      try {
        return readFileSync(join(project, 'cdk.out', name, 'index.mjs'), 'utf8');
      } catch {
        return '';
      }
    });
  // The task's PermanentError code: in the functions that load the task module, in no other.
  const withTask = bundles.filter((code) => code.includes('MonthNotOver')).length;
  const expected = factories.filter((factory) => factory.takesTasks).length;
  if (withTask !== expected) throw new Error(`expected the task module in ${expected} bundles, found ${withTask}`);

  step("the example's test: offload dev, and a typed result through the compiled client");
  run('npm', ['test'], project);
  step('passed');
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(join(root, 'dist'), { recursive: true, force: true });
}
