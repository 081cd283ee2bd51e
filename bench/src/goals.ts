/**
 * The goals table at the top of docs/BENCHMARKS.md: one row per budget of docs/ARCHITECTURE.md, written by the
 * bench that measures it. A bench replaces only its own rows, so the table always says where each goal stood at
 * its bench's latest run, and the date in each row says when that was.
 */

/** One budget as one run measured it. */
export interface Goal {
  /** The budget as the design states it. */
  goal: string;
  /** This run's figure beside its same-run floor. */
  measured: string;
  /** null: a figure printed beside its floor, with no pass mark. */
  met: boolean | null;
  /** When not met: what this run's own profile says the gap is made of. */
  why?: string;
}

const START = '<!-- bench:goals -->';
const END = '<!-- /bench:goals -->';
const HEAD = [
  "| bench | goal | measured (ratios to a floor of the same run) | met? | where the gap is (this run's profile) | run |",
  '|---|---|---|---|---|---|',
];
const INTRO =
  'Each bench replaces its own rows when it runs (`npm run bench` runs them all); the last column says when. The sections further down hold each run in full.';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function row(bench: string, g: Goal, when: string): string {
  const met = g.met === null ? 'printed' : g.met ? '**yes**' : '**no**';
  return `| ${bench} | ${cell(g.goal)} | ${cell(g.measured)} | ${met} | ${cell(g.met === false ? (g.why ?? '') : '')} | ${when} |`;
}

/** The bench a table row belongs to: its first cell. */
function benchOf(line: string): string {
  return line.slice(1).split(' | ')[0]!.trim();
}

/**
 * `doc` with `bench`'s rows of the goals table replaced by `goals`, rows kept in `order` (the benches' run order).
 * Without a goals section yet, one is put before the first section (`## `).
 */
export function withGoals(doc: string, bench: string, goals: Goal[], when: string, order: string[]): string {
  const at = doc.indexOf(START);
  const end = doc.indexOf(END);
  const old = at >= 0 && end > at ? doc.slice(at, end).split('\n') : [];
  const kept = old.filter((l) => l.startsWith('| ') && !HEAD.includes(l) && benchOf(l) !== bench);
  const rows = [...kept, ...goals.map((g) => row(bench, g, when))];
  const rank = (l: string) => {
    const i = order.indexOf(benchOf(l));
    return i < 0 ? order.length : i;
  };
  // Stable: a bench's rows keep the order it gave them.
  rows.sort((a, b) => rank(a) - rank(b));
  const section = [START, '## Where each goal stands', '', INTRO, '', ...HEAD, ...rows, END].join('\n');
  if (at >= 0 && end > at) return doc.slice(0, at) + section + doc.slice(end + END.length);
  const first = doc.search(/^## /m);
  return first < 0 ? `${doc.trimEnd()}\n\n${section}\n` : `${doc.slice(0, first)}${section}\n\n${doc.slice(first)}`;
}
