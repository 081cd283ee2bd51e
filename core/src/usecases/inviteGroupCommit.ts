import type { Deps } from '../context.js';
import type { Pool } from '../db/pool.js';
import { insertInvitationsTogether, insertOneInvitation, type InsertedOneInvitation, type OneInvitation } from '../sql/invitationInserts.js';
import { normaliseEmail } from './inputs.js';

/**
 * Group commit for the invite API. Under load most of an invite's cost in PostgreSQL is the statement
 * around the rows (its execution, its commit, the wait for its WAL flush) rather than the rows, so invites
 * that arrive while statements are running wait and then go together, in one statement and one commit.
 * Nothing waits on purpose: an invite that finds a free lane goes at once, alone, as before, so a lone
 * request is exactly as fast; batches form only while the lanes are busy, and grow with the load.
 *
 * Each invite keeps its own outcome: the statement decides every row as it would alone, and if it fails
 * (a statement is atomic, so nothing of any row was written) each invite is tried again alone, so one bad
 * row cannot decide the others.
 */
// Two statements at a time: one runs while the other waits for its commit to reach the disk. In interleaved
// invite benches one lane gave 655-849 invites/s, two 813-928 (docs/BENCHMARKS.md, session 7). More lanes
// only bring back what grouping removes: PostgreSQL backends competing for the same cores.
const LANES = 2;
const MAX_BATCH = 100;

interface Waiting {
  input: OneInvitation;
  /** Invites go together only with the same agency, actor and sendEmail (the statement's shared values). */
  key: string;
  address: string;
  resolve: (row: InsertedOneInvitation | null) => void;
  reject: (err: unknown) => void;
}

class InviteGroupCommit {
  private waiting: Waiting[] = [];
  private busy = 0;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Deps['logger'],
  ) {}

  insert(input: OneInvitation): Promise<InsertedOneInvitation | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({
        input,
        key: `${input.agencyId}:${input.actorId}:${input.sendEmail}`,
        address: normaliseEmail(input.email),
        resolve,
        reject,
      });
      this.pump();
    });
  }

  private pump(): void {
    while (this.busy < LANES && this.waiting.length > 0) {
      const batch = this.takeBatch();
      this.busy++;
      void this.run(batch).finally(() => {
        this.busy--;
        this.pump();
      });
    }
  }

  /** The oldest invite and, in arrival order, those that may share its statement; the rest keep waiting. */
  private takeBatch(): Waiting[] {
    const key = this.waiting[0]!.key;
    const addresses = new Set<string>();
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const w of this.waiting) {
      // One statement cannot upsert the same client twice: a second invite of an address waits its turn.
      if (batch.length < MAX_BATCH && w.key === key && !addresses.has(w.address)) {
        addresses.add(w.address);
        batch.push(w);
      } else {
        rest.push(w);
      }
    }
    this.waiting = rest;
    return batch;
  }

  private async run(batch: Waiting[]): Promise<void> {
    if (batch.length > 1) {
      // Rows in address order: concurrent statements (other lanes, other API processes) then take the
      // clients' row locks in the same order and cannot deadlock on them.
      batch.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
      const first = batch[0]!.input;
      try {
        const rows = await insertInvitationsTogether(
          this.pool,
          first,
          batch.map((w) => w.input),
        );
        batch.forEach((w, i) => w.resolve(rows[i] ?? null));
        return;
      } catch (err) {
        this.logger.warn({ err, invites: batch.length }, 'invites written together failed; each is tried alone');
      }
    }
    await Promise.all(batch.map((w) => insertOneInvitation(this.pool, w.input).then(w.resolve, w.reject)));
  }
}

const perPool = new WeakMap<Pool, InviteGroupCommit>();

/**
 * The invite API's common case (see insertOneInvitation), written together with the invites of the same
 * process that arrive meanwhile.
 */
export function insertInvitationGrouped(deps: Pick<Deps, 'pool' | 'logger'>, input: OneInvitation): Promise<InsertedOneInvitation | null> {
  let group = perPool.get(deps.pool);
  if (!group) {
    group = new InviteGroupCommit(deps.pool, deps.logger);
    perPool.set(deps.pool, group);
  }
  return group.insert(input);
}
