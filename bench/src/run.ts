import { cpus, totalmem, platform, release } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { withGoals, type Goal } from './goals.js';
import { interrupted, undoOnSignals } from './interrupt.js';

/** A benchmark prints its figures and returns them for docs/BENCHMARKS.md. */
interface BenchResult {
  name: string;
  /** Markdown lines: a table or a list of figures with what they are measured against. */
  lines: string[];
  /** The design's budgets this bench measures, for the goals table at the top of docs/BENCHMARKS.md. */
  goals?: Goal[];
}

export type Bench = (args: string[]) => Promise<BenchResult>;

const registry: Record<string, () => Promise<Bench>> = {};

export function registerBench(name: string, load: () => Promise<Bench>): void {
  registry[name] = load;
}

function machine(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${platform()} ${release()}, Node ${process.version}`;
}

/** Each bench owns one section of docs/BENCHMARKS.md, replaced on every run. */
function record(result: BenchResult): void {
  const file = join(process.cwd(), 'docs', 'BENCHMARKS.md');
  mkdirSync(join(process.cwd(), 'docs'), { recursive: true });
  const header = '# Benchmarks\n\nWritten by `npm run bench`. Each section is replaced when its bench runs again.\n';
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const start = `<!-- bench:${result.name} -->`;
  const end = `<!-- /bench:${result.name} -->`;
  const now = new Date().toISOString();
  const section = [start, `## ${result.name}`, '', `Measured ${now} on ${machine()}.`, '', ...result.lines, end].join('\n');
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  doc = re.test(doc) ? doc.replace(re, () => section) : `${doc.trimEnd()}\n\n${section}\n`;
  if (result.goals) doc = withGoals(doc, result.name, result.goals, `${now.slice(0, 10)} ([${result.name}](#${result.name}))`, Object.keys(registry));
  writeFileSync(file, doc);
}

async function main(): Promise<void> {
  undoOnSignals();
  await import('./benches.js');
  const [name, ...rest] = process.argv.slice(2);
  const names = name ? [name] : Object.keys(registry);
  for (const n of names) {
    const load = registry[n];
    if (!load) {
      console.error(`unknown bench "${n}"; known: ${Object.keys(registry).join(', ')}`);
      process.exitCode = 2;
      return;
    }
    const bench = await load();
    const result = await bench(rest);
    // An interrupted run's figures are not a run: nothing is recorded, and the signal's handler exits.
    if (interrupted()) return;
    console.log(`\n${result.lines.join('\n')}\n`);
    record(result);
  }
}

if (process.argv[1]?.endsWith('run.js')) {
  // Once interrupted, the bench's own failures (its servers going away under it) are expected, and the signal's
  // handler exits when it has stopped everything.
  main().then(
    () => interrupted() || process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      if (interrupted()) return;
      console.error(err);
      process.exit(1);
    },
  );
}
