// Loads one Lambda bundle in a fresh process and prints how long the import (module load + init code) took.
const start = performance.now();
await import(process.argv[2]);
process.stdout.write(JSON.stringify({ initMs: performance.now() - start }));
