/** The one HTML escape of Onramp: text and attribute values (always quoted with ") alike. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * A display name that is safe in a header even before nodemailer encodes it: CR, LF and every other
 * control character (C0, DEL, C1, and the Unicode line/paragraph separators) become a space, so a name
 * like "Eve\r\nBcc: x@y" can never start a header line of its own.
 */
export function headerSafe(value: string | null | undefined, max = 200): string {
  return String(value ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max);
}

/** Only http(s) URLs go into href/src: no javascript:, data: or relative surprises. */
export function safeHttpUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : null;
  } catch {
    return null;
  }
}
