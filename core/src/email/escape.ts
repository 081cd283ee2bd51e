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
