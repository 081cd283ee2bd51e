/**
 * The one HTML module of Onramp, used by the pages, the dev mailbox and the email templates: one escape
 * function, one `html` tag, one branding type, one URL check. Markup is built only with the `html` tag:
 * every interpolated value is escaped unless it is already SafeHtml (the output of another `html` call),
 * so a name or a message can never become markup.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

/** Safe in element content and in attribute values, quoted or not. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => ENTITIES[c]!);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Joins fragments that are already safe. */
export const joinHtml = (parts: Array<SafeHtml | '' | null | undefined | false>, separator = '\n'): SafeHtml =>
  new SafeHtml(
    parts
      .filter((p): p is SafeHtml => p instanceof SafeHtml)
      .map((p) => p.value)
      .join(separator),
  );

/**
 * A URL that may go into href/src, or null. Only the listed schemes pass (never javascript:, data: or a
 * relative surprise). Logos are https only: an http image is mixed content on an https page and a
 * tracking channel in an email.
 */
export function safeUrl(value: string | null | undefined, schemes: ReadonlyArray<'https:' | 'http:'> = ['https:']): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return (schemes as readonly string[]).includes(url.protocol) ? url.toString() : null;
  } catch {
    return null;
  }
}

export const HEX_COLOUR = /^#[0-9a-fA-F]{6}$/;
export const DEFAULT_BRAND_COLOUR = '#4f46e5';

/** How an agency presents itself to its clients, in every email and page. */
export interface Branding {
  /** `display_name ?? name`: what clients know the agency as. */
  displayName: string;
  /** `sender_name ?? displayName`: the From display name. */
  senderName: string;
  brandColor: string;
  logoUrl: string | null;
  /** The agency's own paragraph for invitation emails. */
  inviteEmailText: string | null;
  /** Used as the message of an invitation that has none of its own. */
  defaultMessage?: string | null;
}

/** What a page needs of the branding. */
export type PageBranding = Pick<Branding, 'displayName' | 'brandColor' | 'logoUrl'>;

/** Black or white text, whichever reads better on the brand colour (WCAG relative luminance). */
export function textOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return l > 0.4 ? '#111827' : '#ffffff';
}

/** The colour if it is a #rrggbb colour, else the default: it goes into style attributes and CSS. */
export const brandColour = (value: string | null | undefined): string => (value && HEX_COLOUR.test(value) ? value : DEFAULT_BRAND_COLOUR);
