import { brandingFromAgency, emailKinds, renderEmail, type Branding } from '@onramp/core';

const branding: Branding = brandingFromAgency({
  name: 'Acme <script>',
  display_name: null,
  sender_name: 'Olivia\r\nBcc: evil@example.test',
  brand_color: '#0f766e',
  logo_url: null,
  invite_email_text: null,
});
const expiresAt = new Date('2026-12-01T15:30:00.000Z');
const signInUrl = 'https://onramp.example.test/a/acme-script/login';

describe('client access emails', () => {
  it('lists the new kinds', () => {
    expect(emailKinds).toEqual(expect.arrayContaining(['invitation_reminder', 'sign_in_link']));
  });

  it('sign_in_link: branded, escaped, the link, its 15-minute validity and the agency sign-in page', () => {
    const m = renderEmail({
      kind: 'sign_in_link',
      branding,
      recipientName: 'Mia <b>Hamm</b>',
      link: 'https://onramp.example.test/signin/abc',
      expiresAt,
      signInUrl,
    });
    expect(m.subject).toBe('Your sign-in link for Acme <script>');
    expect(m.fromName).not.toMatch(/[\r\n]/);
    expect(m.text).toContain('Sign in: https://onramp.example.test/signin/abc');
    expect(m.text).toContain('The link works once and is valid until Tuesday, 1 December 2026 at 15:30 UTC (2026-12-01T15:30:00.000Z).');
    expect(m.text).toContain(`Your Acme <script> portal: ${signInUrl}`);
    expect(m.html).toContain('href="https://onramp.example.test/signin/abc"');
    expect(m.html).toContain('Acme &lt;script&gt;');
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('Mia &lt;b&gt;Hamm&lt;/b&gt;');
    expect(m.html).toContain('background:#0f766e');
  });

  it('invitation_reminder: a "Reminder:" subject, the expiry up front, the same link, the sign-in page', () => {
    const m = renderEmail({
      kind: 'invitation_reminder',
      branding,
      recipientName: 'Mia Hamm',
      inviterName: null,
      projectName: 'Brand refresh',
      message: null,
      link: 'https://onramp.example.test/invite/xyz',
      expiresAt,
      signInUrl,
    });
    expect(m.subject).toBe('Reminder: Acme <script> invited you to Brand refresh');
    expect(m.text).toContain('Your invitation expires on Tuesday, 1 December 2026 at 15:30 UTC; the link below works until then.');
    expect(m.text).toContain('Accept the invitation: https://onramp.example.test/invite/xyz');
    expect(m.text).toContain(`portal: ${signInUrl}`);
    expect(m.html).not.toContain('<script>');
  });

  it('without a sign-in page (a preview), no footer line', () => {
    const m = renderEmail({ kind: 'password_reset', branding, recipientName: 'Mia', link: 'https://x.test/reset/a', expiresAt });
    expect(m.text).not.toContain('portal:');
  });
});
