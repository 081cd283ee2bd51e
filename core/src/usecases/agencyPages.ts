import type { Deps } from '../context.js';
import { brandColour, safeUrl } from '../html.js';
import { getAgencyPageById, getAgencyPageBySlug, type AgencyPageRow, type ClientSignIn } from '../sql/clientAccess.js';
import type { AgencyBranding } from './accept.js';

/** An agency as its own sign-in pages (/a/<slug>/…) show it: branding, slug and how its clients sign in. */
export interface AgencyPage extends AgencyBranding {
  slug: string;
  signIn: ClientSignIn;
}

export const agencyPageOf = (r: AgencyPageRow): AgencyPage => ({
  id: r.agency_id,
  displayName: r.agency_name,
  brandColor: brandColour(r.brand_color),
  logoUrl: safeUrl(r.logo_url),
  slug: r.slug,
  signIn: r.client_sign_in,
});

const SLUG_SHAPE = /^[a-z0-9][a-z0-9-]{0,60}$/;

export async function findAgencyPage(deps: Pick<Deps, 'pool'>, slug: string): Promise<AgencyPage | null> {
  if (!SLUG_SHAPE.test(slug)) return null;
  const row = await getAgencyPageBySlug(deps.pool, slug);
  return row ? agencyPageOf(row) : null;
}

export async function agencyPageById(deps: Pick<Deps, 'pool'>, agencyId: string): Promise<AgencyPage | null> {
  const row = await getAgencyPageById(deps.pool, agencyId);
  return row ? agencyPageOf(row) : null;
}

/** The agency's own sign-in page, where every client email and dead-link page sends people. */
export const agencySignInPath = (slug: string): string => `/a/${encodeURIComponent(slug)}/login`;
