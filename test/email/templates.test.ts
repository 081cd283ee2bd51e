import { brandingFromAgency, escapeHtml, headerSafe, renderEmail, type Branding } from '@onramp/core';

const agencyRow = {
  name: 'Acme Holdings LLC',
  display_name: 'Acme',
  sender_name: null,
  brand_color: '#ff0066',
  logo_url: 'https://cdn.example.test/logo.png',
  invite_email_text: 'We look forward to working with you.',
};
const expiresAt = new Date('2026-12-01T15:30:00.000Z');
const link = 'https://onramp.example.test/invite/abc_DEF-123';

describe('branding from the agency row', () => {
  it('uses display_name over name, and sender_name over the display name', () => {
    expect(brandingFromAgency(agencyRow)).toEqual({
      displayName: 'Acme',
      senderName: 'Acme',
      brandColor: '#ff0066',
      logoUrl: 'https://cdn.example.test/logo.png',
      inviteEmailText: 'We look forward to working with you.',
      defaultMessage: null,
    });
    const b = brandingFromAgency({ ...agencyRow, display_name: null, sender_name: 'Acme Team' });
    expect(b.displayName).toBe('Acme Holdings LLC');
    expect(b.senderName).toBe('Acme Team');
  });

  it('drops a logo URL that is not http(s)', () => {
    expect(brandingFromAgency({ ...agencyRow, logo_url: 'javascript:alert(1)' }).logoUrl).toBeNull();
  });
});

describe('invitation email', () => {
  const branding: Branding = brandingFromAgency(agencyRow);
  const base = {
    kind: 'invitation' as const,
    branding,
    recipientName: 'Cleo Client',
    inviterName: 'Olivia Owner',
    projectName: 'Website redesign',
    message: 'See you Monday!\nBring coffee.',
    link,
    expiresAt,
  };

  it('carries the agency name in the subject and From name, the message, the link and the expiry', () => {
    const m = renderEmail(base);
    expect(m.subject).toBe('Acme invited you to Website redesign');
    expect(m.fromName).toBe('Acme');
    for (const part of [m.text, m.html]) {
      expect(part).toContain(link);
      expect(part).toContain('Tuesday, 1 December 2026 at 15:30 UTC');
      expect(part).toContain('2026-12-01T15:30:00.000Z');
      expect(part).toContain('We look forward to working with you.');
      expect(part).toContain('Olivia Owner');
    }
    expect(m.text).toContain('> See you Monday!\n> Bring coffee.');
    expect(m.html).toContain('See you Monday!<br>Bring coffee.');
    expect(m.html).toContain('src="https://cdn.example.test/logo.png"');
    expect(m.html).toContain('#ff0066');
  });

  it('words a resend as a reminder', () => {
    const m = renderEmail({ ...base, kind: 'invitation_resend' });
    expect(m.subject).toBe('Reminder: Acme invited you to Website redesign');
    expect(m.text).toMatch(/reminder/i);
    expect(m.html).toContain(link);
  });

  it.each([['<script>alert(1)</script>'], ['"><img src=x onerror=alert(1)>']])('escapes %s in every name and message of the HTML part', (evil) => {
    const m = renderEmail({
      ...base,
      branding: { ...branding, displayName: evil, senderName: evil, inviteEmailText: evil },
      recipientName: evil,
      inviterName: evil,
      projectName: evil,
      message: evil,
    });
    expect(m.html).not.toMatch(/<script/i);
    // The only element the input could have injected is an <img>: the one there is the logo.
    expect(m.html.match(/<img\b/g)).toHaveLength(1);
    expect(m.html).toContain('<img src="https://cdn.example.test/logo.png" alt="');
    expect(m.html).not.toContain('<img src=x');
    expect(m.html).toContain(escapeHtml(evil));
  });

  it('keeps CR/LF and control characters out of the subject and the From name', () => {
    const evil = 'Acme\r\nBcc: evil@x.test\u0000';
    const m = renderEmail({ ...base, branding: { ...branding, displayName: evil, senderName: evil }, projectName: 'P\nX-Hdr: 1' });
    expect(m.subject).not.toMatch(/[\r\n\u0000]/);
    expect(m.fromName).not.toMatch(/[\r\n\u0000]/);
    expect(m.fromName).toBe('Acme Bcc: evil@x.test');
    expect(m.subject).toBe('Acme Bcc: evil@x.test invited you to P X-Hdr: 1');
  });
});

describe('accepted notification and password reset', () => {
  const branding = brandingFromAgency(agencyRow);

  it('tells the firm user who accepted what', () => {
    const m = renderEmail({
      kind: 'invitation_accepted',
      branding,
      recipientName: 'Olivia Owner',
      clientName: 'Cleo <b>Client</b>',
      clientEmail: 'cleo@example.test',
      projectName: 'Website redesign',
      acceptedAt: expiresAt,
      link: 'https://onramp.example.test/console',
    });
    expect(m.subject).toBe('Cleo <b>Client</b> accepted your invitation to Website redesign');
    expect(m.html).toContain('Cleo &lt;b&gt;Client&lt;/b&gt;');
    expect(m.text).toContain('https://onramp.example.test/console');
  });

  it('gives the reset link and how long it is valid', () => {
    const m = renderEmail({ kind: 'password_reset', branding, recipientName: 'Cleo Client', link: 'https://o.test/reset/tok', expiresAt });
    expect(m.subject).toBe('Reset your password for Acme');
    expect(m.text).toContain('https://o.test/reset/tok');
    expect(m.html).toContain('href="https://o.test/reset/tok"');
    expect(m.text).toContain('valid until Tuesday, 1 December 2026 at 15:30 UTC');
  });
});

describe('headerSafe', () => {
  it('turns every line break and control character into a single space', () => {
    expect(headerSafe('a\r\nb\u2028c\u0085d\te')).toBe('a b c d e');
  });
});

describe('agency administration in emails', () => {
  const branding: Branding = brandingFromAgency({ ...agencyRow, default_message: 'Our <b>default</b> welcome.' });

  it("an invitation without a message uses the agency's default message; one with a message replaces it", () => {
    const view = { kind: 'invitation' as const, branding, recipientName: 'Cleo Client', inviterName: 'Olivia Owner', projectName: 'Website', link, expiresAt };
    const none = renderEmail({ ...view, message: null });
    expect(none.text).toContain('Our <b>default</b> welcome.');
    expect(none.html).toContain('Our &lt;b&gt;default&lt;/b&gt; welcome.');
    const own = renderEmail({ ...view, message: 'Just for Cleo.' });
    expect(own.text).toContain('Just for Cleo.');
    expect(own.text).not.toContain('default');
    expect(renderEmail({ ...view, message: '   ' }).text).toContain('Our <b>default</b> welcome.');
  });

  it('a teammate invitation names the inviter, the role and the link, escaped, with the From name', () => {
    const out = renderEmail({
      kind: 'teammate_invitation',
      branding: { ...branding, senderName: 'Acme Onboarding' },
      recipientName: null,
      inviterName: 'Olivia <script>Owner',
      role: 'member',
      link: 'https://onramp.example.test/console/join/abc',
      expiresAt,
    });
    expect(out.subject).toBe('Olivia <script>Owner from Acme invited you to join the Acme team');
    expect(out.fromName).toBe('Acme Onboarding');
    expect(out.text).toContain('as a member');
    expect(out.text).toContain('https://onramp.example.test/console/join/abc');
    expect(out.text).toContain('2026-12-01T15:30:00.000Z');
    expect(out.html).toContain('Olivia &lt;script&gt;Owner');
    expect(out.html).not.toContain('<script>');
    expect(out.html).toContain('#ff0066');
  });

  it('an acceptance told to an owner in place of a deactivated inviter says whose invitation it was and why', () => {
    const out = renderEmail({
      kind: 'invitation_accepted',
      branding,
      recipientName: 'Nora Owner',
      clientName: 'Cleo Client',
      clientEmail: 'cleo@client.test',
      projectName: 'Website',
      acceptedAt: expiresAt,
      link: 'https://onramp.example.test/console',
      onBehalfOf: 'Alex Admin',
    });
    expect(out.subject).toBe('Cleo Client accepted the invitation Alex Admin sent to Website');
    expect(out.text).toContain('because Alex Admin is no longer active on the team');
  });
});
