/**
 * "Did you mean ana@gmail.com?" at invite time. A pure function: no DNS lookups (an invite must not wait on
 * the network, and a domain without MX/A records is simply not checked). A domain is flagged when it is not
 * one of the common mail domains but is one edit (two for long names) away from one: a letter missing,
 * added, changed, or two letters swapped (gmial.com, gmai.com, hotmial.com, outlok.com, yaho.com, gmail.con).
 */
export const COMMON_MAIL_DOMAINS: readonly string[] = [
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'yahoo.co.uk',
  'yahoo.fr',
  'ymail.com',
  'hotmail.com',
  'hotmail.co.uk',
  'hotmail.fr',
  'outlook.com',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  'protonmail.com',
  'proton.me',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'web.de',
  'mail.com',
  'email.com',
  'zoho.com',
  'yandex.com',
  'comcast.net',
  'verizon.net',
  'att.net',
  'sbcglobal.net',
  'orange.fr',
  'free.fr',
  'btinternet.com',
  'fastmail.com',
];

const known = new Set(COMMON_MAIL_DOMAINS);

/** Optimal string alignment distance (Levenshtein plus adjacent swaps), stopping early above `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push(new Array<number>(b.length + 1).fill(0));
    rows[i]![0] = i;
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    let rowMin = Infinity;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
  }
  return rows[a.length]![b.length]!;
}

/** The corrected address when the domain looks like a typo of a common mail domain, else null. */
export function suggestEmailCorrection(email: string): string | null {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) return null;
  const local = trimmed.slice(0, at);
  const domain = trimmed
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.+$/, '');
  if (known.has(domain) || domain.length > 100) return null;
  let corrected = recentDomains.get(domain);
  if (corrected === undefined) {
    corrected = closestCommonDomain(domain);
    // An agency invites many clients of a few domains: those are compared with the common ones once. Bounded,
    // oldest first out, so a stream of distinct domains costs what it did without the memo.
    if (recentDomains.size >= RECENT_DOMAINS) recentDomains.delete(recentDomains.keys().next().value!);
    recentDomains.set(domain, corrected);
  }
  return corrected === null ? null : `${local}@${corrected}`;
}

const RECENT_DOMAINS = 1000;
const recentDomains = new Map<string, string | null>();

function closestCommonDomain(domain: string): string | null {
  let best: { domain: string; distance: number } | null = null;
  for (const candidate of COMMON_MAIL_DOMAINS) {
    // Short names sit one letter away from many real domains (mac.com / max.com, live.com / love.com), so
    // they are never suggested; two edits only for long names (protonmail.com, googlemail.com).
    if (candidate.length < 9) continue;
    const max = candidate.length >= 12 ? 2 : 1;
    const d = editDistance(domain, candidate, max);
    if (d <= max && (!best || d < best.distance)) best = { domain: candidate, distance: d };
  }
  return best?.domain ?? null;
}

export interface EmailWarning {
  field: string;
  suggestion: string;
}

/** The `warnings` of an invite response: at most one per address field, never a refusal. */
export function emailWarnings(email: unknown, field = 'email'): EmailWarning[] {
  if (typeof email !== 'string') return [];
  const suggestion = suggestEmailCorrection(email);
  return suggestion ? [{ field, suggestion }] : [];
}
