import type { Deps } from '../context.js';
import { countInvitations, matchingInvitationIds, type InvitationFilters } from '../read/invitations.js';
import type { Principal } from './apiKeys.js';
import { bulkInvitations, requireInviter } from './invitations.js';

/** At most this many invitations per "all matching" action; the summary says how many were left. */
export const BULK_MATCHING_MAX = 10_000;
const SLICE = 200;
const FAILURES_KEPT = 100;

export interface BulkMatchingSummary {
  action: 'resend' | 'revoke';
  /** Invitations the action was tried on. */
  attempted: number;
  succeeded: number;
  /** Failures by error code (not_found, invitation_not_pending, rate_limited, client_deactivated, ...). */
  failedByCode: Record<string, number>;
  /** The first failures, each with the invitation's address and the reason. */
  failures: Array<{ id: string; email: string; code: string; message: string }>;
  /** Matching invitations not attempted because the limit was reached. */
  leftOver: number;
}

/**
 * Resend or revoke every invitation matching a filter (the dashboard's "all N matching"), not just a page
 * of ids. The matches are walked newest first in slices, each slice through the same per-item use case as
 * POST /v1/invitations/bulk, so each invitation keeps its own rules: pending or expired only, the
 * per-invitation resend interval and daily limit, the recipient's daily quota, deactivated clients.
 * `through` (the newest seq when the count was shown) keeps invitations created since out of it.
 */
export async function bulkInvitationsMatching(
  deps: Deps,
  principal: Principal,
  action: 'resend' | 'revoke',
  filters: InvitationFilters,
  opts: { through?: number | null | undefined; max?: number } = {},
): Promise<BulkMatchingSummary> {
  requireInviter(principal);
  const max = Math.max(1, Math.min(opts.max ?? BULK_MATCHING_MAX, BULK_MATCHING_MAX));
  const through = opts.through ?? null;
  const summary: BulkMatchingSummary = { action, attempted: 0, succeeded: 0, failedByCode: {}, failures: [], leftOver: 0 };
  let before: number | null = null;
  while (summary.attempted < max) {
    const want = Math.min(SLICE, max - summary.attempted);
    // The walk goes by seq, which neither action changes: a revoked one leaves the filter, a resent one stays,
    // and neither is met twice.
    const slice = await matchingInvitationIds(deps.pool, principal.agencyId, filters, { before, through }, want);
    if (slice.length === 0) break;
    const emails = new Map(slice.map((s) => [s.id, s.email]));
    const results = await bulkInvitations(
      deps,
      principal,
      action,
      slice.map((s) => s.id),
    );
    for (const r of results) {
      summary.attempted++;
      if (r.ok) {
        summary.succeeded++;
        continue;
      }
      const code = r.error!.code;
      summary.failedByCode[code] = (summary.failedByCode[code] ?? 0) + 1;
      if (summary.failures.length < FAILURES_KEPT) summary.failures.push({ id: r.id, email: emails.get(r.id) ?? '', code, message: r.error!.message });
    }
    before = slice[slice.length - 1]!.seq;
    if (slice.length < want) break;
  }
  if (summary.attempted >= max && before !== null) {
    summary.leftOver = (await countInvitations(deps.pool, principal.agencyId, filters, { before, through })).count;
  }
  return summary;
}
