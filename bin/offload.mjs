#!/usr/bin/env node
// `offload` CLI. In the offload repository it runs the TypeScript sources (client/cli.ts); in the
// installed package, the compiled ones (dist/client/cli.js). tsx is registered either way: `offload
// dev` loads the user's task module, which may be TypeScript.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const source = new URL('../client/cli.ts', import.meta.url);
const { runCli } = await import(existsSync(source) ? source.href : '../dist/client/cli.js');

const controller = new AbortController();
// A second Ctrl-C, while stopping, ends the process at once (the listener is gone by then).
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());
const readStdin = async () => {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
};
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin,
  signal: controller.signal,
});
process.exitCode = code;
// Whatever a command leaves open (an emulator's socket after `offload dev`) must not keep the process alive.
setTimeout(() => process.exit(code), 1_000).unref();
