/**
 * Every line written to process.stdout while `run` runs (and nothing reaches the terminal), as
 * CloudWatch Logs takes a Lambda's output: Powertools prints logs and EMF documents there.
 */
export async function stdoutLines(run: () => unknown): Promise<string[]> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
  }
  return lines;
}
