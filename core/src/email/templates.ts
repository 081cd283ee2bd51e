import type { AgencyRow } from '../sql/agencies.js';
import type { EmailKind } from '../usecases/emails.js';
import { brandColour, escapeHtml, safeUrl, type Branding } from '../html.js';
import { headerSafe } from './escape.js';

/**
 * Email templates: pure functions from a view model to { subject, html, text, fromName }. No I/O, so the
 * worker, the tests and any preview render exactly the same message.
 */

export function brandingFromAgency(
  agency: Pick<AgencyRow, 'name' | 'display_name' | 'sender_name' | 'brand_color' | 'logo_url' | 'invite_email_text'> & { default_message?: string | null },
): Branding {
  const displayName = nonEmpty(agency.display_name) ?? agency.name;
  return {
    displayName,
    senderName: nonEmpty(agency.sender_name) ?? displayName,
    brandColor: brandColour(agency.brand_color),
    logoUrl: safeUrl(agency.logo_url),
    inviteEmailText: nonEmpty(agency.invite_email_text),
    defaultMessage: nonEmpty(agency.default_message),
  };
}

export interface InvitationEmailView {
  /** `invitation_resend` carries a new link; `invitation_reminder` (sent by the sweep before expiry) the same link. */
  kind: 'invitation' | 'invitation_resend' | 'invitation_reminder';
  branding: Branding;
  recipientName: string;
  /** The firm user who created the invitation, when known. */
  inviterName: string | null;
  projectName: string;
  /** The inviter's custom message for this invitation. */
  message: string | null;
  link: string;
  expiresAt: Date;
  /** The agency's own sign-in page (PUBLIC_BASE_URL/a/<slug>/login). */
  signInUrl?: string | null;
}

export interface InvitationAcceptedView {
  kind: 'invitation_accepted';
  branding: Branding;
  /** The firm user who created the invitation (the recipient). */
  recipientName: string | null;
  clientName: string;
  clientEmail: string;
  projectName: string;
  acceptedAt: Date;
  /** Where the firm user can see the project (the console). */
  link: string;
  /**
   * Set when the recipient is not the firm user who sent the invitation (that user was deactivated, so the
   * agency's owners are told): the inviter's name or email.
   */
  onBehalfOf?: string | null;
}

export interface TeammateInvitationEmailView {
  kind: 'teammate_invitation';
  branding: Branding;
  recipientName: string | null;
  inviterName: string | null;
  role: 'admin' | 'member';
  link: string;
  expiresAt: Date;
}

export interface PasswordResetView {
  kind: 'password_reset';
  branding: Branding;
  recipientName: string;
  link: string;
  expiresAt: Date;
  signInUrl?: string | null;
}

/** A single-use sign-in link (agencies whose clients sign in by email link). */
export interface SignInLinkEmailView {
  kind: 'sign_in_link';
  branding: Branding;
  recipientName: string;
  link: string;
  expiresAt: Date;
  signInUrl?: string | null;
}

export type EmailView = InvitationEmailView | InvitationAcceptedView | PasswordResetView | TeammateInvitationEmailView | SignInLinkEmailView;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  /** Already header-safe (no CR/LF/control characters). */
  fromName: string;
}

// Built once: constructing an Intl.DateTimeFormat costs more than rendering the rest of an email.
const utcFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** "Saturday 28 November 2026 at 14:05 UTC": unambiguous for a reader anywhere; the ISO form follows it. */
export function formatUtc(date: Date): string {
  const formatted = utcFormat.format(date);
  return `${formatted} UTC`;
}

export function renderEmail(view: EmailView): RenderedEmail {
  switch (view.kind) {
    case 'invitation':
    case 'invitation_resend':
    case 'invitation_reminder':
      return renderInvitation(view);
    case 'invitation_accepted':
      return renderAccepted(view);
    case 'password_reset':
      return renderPasswordReset(view);
    case 'teammate_invitation':
      return renderTeammateInvitation(view);
    case 'sign_in_link':
      return renderSignInLink(view);
  }
}

export const emailKinds: readonly EmailKind[] = [
  'invitation',
  'invitation_resend',
  'invitation_reminder',
  'invitation_accepted',
  'password_reset',
  'teammate_invitation',
  'sign_in_link',
];

/** The agency's sign-in page, at the foot of every client email: the way back in without the original email. */
function signInFooter(url: string | null | undefined, agency: string): { text: string[]; html: string } {
  if (!url) return { text: [], html: '' };
  return {
    text: [`Your ${agency} portal: ${url}`],
    html: `<p style="font-size:13px;color:#555">Your ${escapeHtml(agency)} portal: <a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p>`,
  };
}

function renderInvitation(v: InvitationEmailView): RenderedEmail {
  const agency = oneLine(v.branding.displayName);
  // The agency's default message stands in for an invitation without one of its own.
  const message = nonEmpty(v.message) ?? v.branding.defaultMessage ?? null;
  const project = oneLine(v.projectName);
  const reminder = v.kind === 'invitation_resend' || v.kind === 'invitation_reminder';
  const subject = headerSafe(`${reminder ? 'Reminder: ' : ''}${agency} invited you to ${project}`, 250);
  const who = v.inviterName ? `${oneLine(v.inviterName)} from ${agency}` : agency;
  const expires = `${formatUtc(v.expiresAt)} (${v.expiresAt.toISOString()})`;
  const lead =
    v.kind === 'invitation_reminder'
      ? `This is a reminder: ${who} invited you to join ${project}. Your invitation expires on ${formatUtc(v.expiresAt)}; the link below works until then.`
      : reminder
        ? `This is a reminder: ${who} invited you to join ${project}, and the invitation is still waiting for you.`
        : `${who} invited you to join ${project}.`;
  const footer = signInFooter(v.signInUrl, agency);
  const action = 'Accept the invitation';

  const text = [
    `Hello ${oneLine(v.recipientName)},`,
    '',
    lead,
    ...(v.branding.inviteEmailText ? ['', v.branding.inviteEmailText] : []),
    ...(message ? ['', `Message from ${v.inviterName ? oneLine(v.inviterName) : agency}:`, quoteText(message)] : []),
    '',
    `${action}: ${v.link}`,
    '',
    `This link is personal and expires on ${expires}.`,
    'If you were not expecting this invitation you can ignore this email.',
    ...footer.text,
    '',
    `-- ${agency}`,
  ].join('\n');

  const html = layout(v.branding, subject, [
    `<p>Hello ${escapeHtml(oneLine(v.recipientName))},</p>`,
    `<p>${escapeHtml(lead)}</p>`,
    v.branding.inviteEmailText ? `<p>${paragraph(v.branding.inviteEmailText)}</p>` : '',
    message
      ? `<p style="margin-bottom:4px;color:#555">Message from ${escapeHtml(v.inviterName ? oneLine(v.inviterName) : agency)}:</p><blockquote style="margin:0 0 16px;padding:8px 12px;border-left:3px solid ${v.branding.brandColor};color:#333">${paragraph(message)}</blockquote>`
      : '',
    button(v.branding, action, v.link),
    plainLink(v.link),
    `<p style="font-size:13px;color:#555">This link is personal and expires on <time datetime="${escapeHtml(v.expiresAt.toISOString())}">${escapeHtml(expires)}</time>. If you were not expecting this invitation you can ignore this email.</p>`,
    footer.html,
  ]);
  return { subject, html, text, fromName: headerSafe(v.branding.senderName) };
}

function renderAccepted(v: InvitationAcceptedView): RenderedEmail {
  const client = oneLine(v.clientName);
  const project = oneLine(v.projectName);
  const whose = v.onBehalfOf ? `the invitation ${oneLine(v.onBehalfOf)} sent` : 'your invitation';
  const subject = headerSafe(`${client} accepted ${whose} to ${project}`, 250);
  const when = `${formatUtc(v.acceptedAt)} (${v.acceptedAt.toISOString()})`;
  const greeting = v.recipientName ? `Hello ${oneLine(v.recipientName)},` : 'Hello,';
  const why = v.onBehalfOf
    ? `You are told as an owner of ${oneLine(v.branding.displayName)}, because ${oneLine(v.onBehalfOf)} is no longer active on the team.`
    : null;
  const text = [
    greeting,
    '',
    `${client} <${oneLine(v.clientEmail)}> accepted ${whose} to ${project} on ${when}.`,
    'They can now see the project in their portal.',
    ...(why ? [why] : []),
    '',
    `Open Onramp: ${v.link}`,
    '',
    `-- ${oneLine(v.branding.displayName)}`,
  ].join('\n');
  const html = layout(v.branding, subject, [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p><strong>${escapeHtml(client)}</strong> &lt;${escapeHtml(oneLine(v.clientEmail))}&gt; accepted ${escapeHtml(whose)} to <strong>${escapeHtml(project)}</strong> on ${escapeHtml(when)}.</p>`,
    '<p>They can now see the project in their portal.</p>',
    why ? `<p style="font-size:13px;color:#555">${escapeHtml(why)}</p>` : '',
    button(v.branding, 'Open Onramp', v.link),
  ]);
  return { subject, html, text, fromName: headerSafe(v.branding.senderName) };
}

function renderPasswordReset(v: PasswordResetView): RenderedEmail {
  const agency = oneLine(v.branding.displayName);
  const subject = headerSafe(`Reset your password for ${agency}`, 250);
  const until = `${formatUtc(v.expiresAt)} (${v.expiresAt.toISOString()})`;
  const footer = signInFooter(v.signInUrl, agency);
  const text = [
    `Hello ${oneLine(v.recipientName)},`,
    '',
    `Someone asked to reset the password of your ${agency} portal account.`,
    `Choose a new password: ${v.link}`,
    '',
    `The link works once and is valid until ${until}.`,
    'If you did not ask for this, ignore this email: your password stays as it is.',
    ...footer.text,
    '',
    `-- ${agency}`,
  ].join('\n');
  const html = layout(v.branding, subject, [
    `<p>Hello ${escapeHtml(oneLine(v.recipientName))},</p>`,
    `<p>Someone asked to reset the password of your ${escapeHtml(agency)} portal account.</p>`,
    button(v.branding, 'Choose a new password', v.link),
    plainLink(v.link),
    `<p style="font-size:13px;color:#555">The link works once and is valid until <time datetime="${escapeHtml(v.expiresAt.toISOString())}">${escapeHtml(until)}</time>. If you did not ask for this, ignore this email: your password stays as it is.</p>`,
    footer.html,
  ]);
  return { subject, html, text, fromName: headerSafe(v.branding.senderName) };
}

function renderSignInLink(v: SignInLinkEmailView): RenderedEmail {
  const agency = oneLine(v.branding.displayName);
  const subject = headerSafe(`Your sign-in link for ${agency}`, 250);
  const until = `${formatUtc(v.expiresAt)} (${v.expiresAt.toISOString()})`;
  const footer = signInFooter(v.signInUrl, agency);
  const text = [
    `Hello ${oneLine(v.recipientName)},`,
    '',
    `Here is your link to sign in to your ${agency} portal, as you asked.`,
    `Sign in: ${v.link}`,
    '',
    `The link works once and is valid until ${until}.`,
    'If you did not ask for it, ignore this email: nobody can sign in without opening this link.',
    ...footer.text,
    '',
    `-- ${agency}`,
  ].join('\n');
  const html = layout(v.branding, subject, [
    `<p>Hello ${escapeHtml(oneLine(v.recipientName))},</p>`,
    `<p>Here is your link to sign in to your ${escapeHtml(agency)} portal, as you asked.</p>`,
    button(v.branding, `Sign in to ${agency}`, v.link),
    plainLink(v.link),
    `<p style="font-size:13px;color:#555">The link works once and is valid until <time datetime="${escapeHtml(v.expiresAt.toISOString())}">${escapeHtml(until)}</time>. If you did not ask for it, ignore this email: nobody can sign in without opening this link.</p>`,
    footer.html,
  ]);
  return { subject, html, text, fromName: headerSafe(v.branding.senderName) };
}

function renderTeammateInvitation(v: TeammateInvitationEmailView): RenderedEmail {
  const agency = oneLine(v.branding.displayName);
  const who = v.inviterName ? `${oneLine(v.inviterName)} from ${agency}` : agency;
  const subject = headerSafe(`${who} invited you to join the ${agency} team`, 250);
  const expires = `${formatUtc(v.expiresAt)} (${v.expiresAt.toISOString()})`;
  const roleLine =
    v.role === 'admin'
      ? 'As an admin you will invite clients, manage projects and imports, and change the agency settings.'
      : "As a member you will see the agency's projects, clients and invitations (read only).";
  const action = 'Join the team';
  const greeting = v.recipientName ? `Hello ${oneLine(v.recipientName)},` : 'Hello,';
  const text = [
    greeting,
    '',
    `${who} invited you to join the ${agency} team on Onramp as ${v.role === 'admin' ? 'an admin' : 'a member'}.`,
    roleLine,
    '',
    `Choose your name and password: ${v.link}`,
    '',
    `This link is personal, works once and expires on ${expires}.`,
    'If you were not expecting this invitation you can ignore this email.',
    '',
    `-- ${agency}`,
  ].join('\n');
  const html = layout(v.branding, subject, [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(who)} invited you to join the <strong>${escapeHtml(agency)}</strong> team on Onramp as ${v.role === 'admin' ? 'an admin' : 'a member'}.</p>`,
    `<p>${escapeHtml(roleLine)}</p>`,
    button(v.branding, action, v.link),
    plainLink(v.link),
    `<p style="font-size:13px;color:#555">This link is personal, works once and expires on <time datetime="${escapeHtml(v.expiresAt.toISOString())}">${escapeHtml(expires)}</time>. If you were not expecting this invitation you can ignore this email.</p>`,
  ]);
  return { subject, html, text, fromName: headerSafe(v.branding.senderName) };
}

function layout(b: Branding, title: string, body: string[]): string {
  const color = b.brandColor;
  const logo = b.logoUrl
    ? `<img src="${escapeHtml(b.logoUrl)}" alt="${escapeHtml(oneLine(b.displayName))}" style="max-height:48px;max-width:200px">`
    : `<span style="font-size:20px;font-weight:bold;color:${color}">${escapeHtml(oneLine(b.displayName))}</span>`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f4f4f5;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#111">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#fff;border-radius:8px">',
    `<tr><td style="padding:24px;border-bottom:4px solid ${color}">${logo}</td></tr>`,
    `<tr><td style="padding:24px;font-size:15px;line-height:1.5">${body.filter(Boolean).join('\n')}</td></tr>`,
    '</table></td></tr></table></body></html>',
  ].join('\n');
}

/** The link written out under the button, for mail readers that drop buttons or a reader who copies it. */
function plainLink(href: string): string {
  return `<p style="font-size:13px;color:#555">Or open this link: <a href="${escapeHtml(href)}">${escapeHtml(href)}</a></p>`;
}

function button(b: Branding, label: string, href: string): string {
  return `<p style="margin:24px 0"><a href="${escapeHtml(href)}" style="display:inline-block;padding:12px 20px;background:${b.brandColor};color:#fff;text-decoration:none;border-radius:6px;font-weight:bold">${escapeHtml(label)}</a></p>`;
}

/** Multi-line user text: escaped, line breaks kept. */
function paragraph(value: string): string {
  return escapeHtml(value.replace(/\r\n?/g, '\n').trim()).replace(/\n/g, '<br>');
}

function quoteText(value: string): string {
  return value
    .replace(/\r\n?/g, '\n')
    .trim()
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** Names are one line everywhere (a name with a newline must not reshape the text part either). */
function oneLine(value: string): string {
  return headerSafe(value, 300);
}

function nonEmpty(value: string | null | undefined): string | null {
  const v = value?.trim();
  return v ? v : null;
}
