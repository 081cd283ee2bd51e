import { withGoals, type Goal } from '../../bench/src/goals.js';

/** The goals table of docs/BENCHMARKS.md: each bench rewrites its own rows and leaves the others alone. */
const order = ['invite', 'projects', 'import', 'list', 'webhooks', 'peer'];
const doc = '# Benchmarks\n\nIntro.\n\n## History\n\nOld text | with a pipe.\n\n<!-- bench:invite -->\n## invite\n<!-- /bench:invite -->\n';
const invite: Goal = { goal: 'Invite ≥ 35%', measured: '34.5%', met: false, why: 'CPU per invite 688 µs' };
const imports: Goal[] = [
  { goal: 'Import ≥ 4% of COPY', measured: '1.2% (a | b)', met: false, why: 'per row\n140 µs' },
  { goal: 'Worker < 250 MB', measured: '206 MB', met: null },
];

const tableRows = (d: string) =>
  d
    .slice(d.indexOf('<!-- bench:goals -->'), d.indexOf('<!-- /bench:goals -->'))
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| bench |'));

describe('the goals table of docs/BENCHMARKS.md', () => {
  it('is put before the first section when the file has none, and keeps the rest of the file as it was', () => {
    const out = withGoals(doc, 'invite', [invite], '2026-12-04', order);
    expect(out.startsWith('# Benchmarks\n\nIntro.\n\n<!-- bench:goals -->\n## Where each goal stands')).toBe(true);
    expect(out.endsWith('<!-- /bench:goals -->\n\n## History\n\nOld text | with a pipe.\n\n<!-- bench:invite -->\n## invite\n<!-- /bench:invite -->\n')).toBe(
      true,
    );
    expect(tableRows(out)).toEqual(['| invite | Invite ≥ 35% | 34.5% | **no** | CPU per invite 688 µs | 2026-12-04 |']);
  });

  it("replaces only the running bench's rows, keeps the benches' order, and escapes what would break a row", () => {
    let out = withGoals(doc, 'import', imports, '2026-12-03', order);
    out = withGoals(out, 'invite', [invite], '2026-12-03', order);
    out = withGoals(out, 'invite', [{ ...invite, measured: '37.8%', met: true }], '2026-12-04', order);
    expect(tableRows(out)).toEqual([
      // Met: the gap column is empty even though the goal carried an explanation.
      '| invite | Invite ≥ 35% | 37.8% | **yes** |  | 2026-12-04 |',
      '| import | Import ≥ 4% of COPY | 1.2% (a \\| b) | **no** | per row 140 µs | 2026-12-03 |',
      '| import | Worker < 250 MB | 206 MB | printed |  | 2026-12-03 |',
    ]);
    expect(out.match(/<!-- bench:goals -->/g)).toHaveLength(1);
    // The same update twice gives the same file.
    expect(withGoals(out, 'import', imports, '2026-12-03', order)).toBe(out);
  });

  it("drops a bench's rows when it reports fewer goals than before", () => {
    let out = withGoals(doc, 'import', imports, '2026-12-03', order);
    out = withGoals(out, 'import', [imports[1]!], '2026-12-04', order);
    expect(tableRows(out)).toEqual(['| import | Worker < 250 MB | 206 MB | printed |  | 2026-12-04 |']);
  });
});
