import { runCni } from './run-cni.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The executable: reads stdin and the environment, prints the result or error JSON, sets the exit code. */
export async function main(): Promise<void> {
  const outcome = await runCni(process.env, await readStdin());
  if (outcome.stderr) process.stderr.write(outcome.stderr);
  process.stdout.write(outcome.stdout, () => process.exit(outcome.code));
}
