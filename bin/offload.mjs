#!/usr/bin/env node
// `offload` CLI: registers tsx so Node runs the TypeScript sources directly (no build step), then
// hands over to client/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../client/cli.ts');

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const readStdin = async () => {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
};
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin,
  signal: controller.signal,
});
