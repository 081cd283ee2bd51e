import express, { type Request, type Response, type Router } from 'express';
import {
  AppError,
  agencySettingKeys,
  getAgencySettings,
  html,
  previewInvitationEmail,
  updateAgencySettingsFor,
  INVITE_EXPIRY_MAX_DAYS,
  type AgencyJson,
  type Deps,
  type FieldError,
} from '@onramp/core';
import { statusByCode } from '../../http/problem.js';
import { contentSecurityPolicy } from '../../http/securityHeaders.js';
import { see } from '../cookies.js';
import { sendPage } from '../layout.js';
import { alert, fieldError, formText, notice, otherErrors } from './forms.js';
import type { ConsoleForm } from './index.js';
import { canInvite, consoleOf, consolePage, csrfInput, type ConsoleLocals, type View } from './layout.js';

/** The form has a field for every agency setting (core's list, so a new setting cannot be forgotten here). */
const FIELDS = agencySettingKeys;
type Values = Partial<Record<(typeof FIELDS)[number], string>>;

const LABELS: Record<(typeof FIELDS)[number], string> = {
  name: 'Agency name',
  display_name: 'Display name',
  sender_name: 'Sender name',
  brand_color: 'Brand colour',
  logo_url: 'Logo URL',
  invite_expiry_days: 'Invitation expiry',
  invite_email_text: 'Agency paragraph',
  default_message: 'Default message',
  client_sign_in: 'How clients sign in',
  reminder_hours_before: 'Reminders',
};

/** "72, 24" -> [72, 24]; an empty field turns reminders off; anything else goes to the schema as typed, to be refused by name. */
function reminderSteps(raw: string): unknown {
  if (raw.trim() === '') return [];
  const parts = raw.split(',').map((p) => p.trim());
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : raw;
}

/** From the form's strings to the API's body: the expiry is a number, every other field passes as typed. */
function toPatch(v: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const raw = v[f];
    if (raw === undefined) continue;
    out[f] = f === 'invite_expiry_days' ? (/^\s*\d+\s*$/.test(raw) ? Number(raw) : raw) : f === 'reminder_hours_before' ? reminderSteps(raw) : raw;
  }
  return out;
}

/**
 * Settings: the agency's name, branding, invitation expiry and default texts, with the invitation email as
 * a client will see it, rendered server-side by the sender's own template (GET /console/settings/preview,
 * shown in a sandboxed frame; settings-preview.js refreshes it as you type). Members see it read-only.
 */
export function settingsConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();

  router.get('/console/settings', async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const agency = await getAgencySettings(deps, c.session.principal);
    sendSettings(
      res,
      settingsPage(c, { agency, notice: req.query.saved === '1' ? 'Settings saved. New invitations and resends use them from now on.' : undefined }),
    );
  });

  router.post('/console/settings', form('settings'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const values: Values = {};
    // The client-access fields change only when the form sends them (a form of an older page leaves them be).
    for (const f of FIELDS) {
      if ((f === 'client_sign_in' || f === 'reminder_hours_before') && (req.body as Record<string, unknown> | undefined)?.[f] === undefined) continue;
      values[f] = formText(req.body, f);
    }
    try {
      await updateAgencySettingsFor(deps, c.session.principal, toPatch(values));
      see(res, '/console/settings?saved=1');
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'internal' || err.code === 'not_found') throw err;
      const agency = await getAgencySettings(deps, c.session.principal);
      const errors = err.code === 'validation_failed' ? err.errors : [];
      sendSettings(
        res,
        settingsPage(c, {
          agency,
          values,
          errors,
          alert: err.code === 'validation_failed' ? 'Nothing was saved: fix the fields marked below.' : (err.detail ?? err.title),
        }),
        statusByCode[err.code],
      );
    }
  });

  // The preview document itself: the email's HTML, sandboxed (no scripts, no same origin), framed only by
  // the console. Query values are unsaved drafts; the saved settings fill in the rest.
  router.get('/console/settings/preview', async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const draft: Record<string, unknown> = {};
    for (const f of FIELDS) if (typeof req.query[f] === 'string') draft[f] = toPatch({ [f]: req.query[f] as string })[f];
    const email = await previewInvitationEmail(deps, c.session.principal, draft);
    res.setHeader('Content-Security-Policy', `${contentSecurityPolicy(res, { sandboxedEmail: true })}; frame-ancestors 'self'`);
    res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Preview-Subject', encodeURIComponent(email.subject));
    res.setHeader('X-Preview-From', encodeURIComponent(email.fromName));
    res.type('text/html').send(`<base target="_blank">${email.html}`);
  });

  return router;
}

function sendSettings(res: Response, view: View, status = 200): void {
  sendPage(res, { ...view, status, frameSelf: true });
}

interface SettingsData {
  agency: AgencyJson;
  values?: Values;
  errors?: FieldError[];
  notice?: string | undefined;
  alert?: string | undefined;
}

function settingsPage(c: ConsoleLocals, d: SettingsData): View {
  const a = d.agency;
  const writer = canInvite(c.session);
  const errors = d.errors ?? [];
  const saved: Values = {
    name: a.name,
    display_name: a.display_name ?? '',
    sender_name: a.sender_name ?? '',
    brand_color: a.brand_color,
    logo_url: a.logo_url ?? '',
    invite_expiry_days: String(a.invite_expiry_days),
    invite_email_text: a.invite_email_text ?? '',
    default_message: a.default_message ?? '',
    client_sign_in: a.client_sign_in,
    reminder_hours_before: a.reminder_hours_before.join(', '),
  };
  // A re-shown form keeps what was typed; a field it did not send shows the saved value.
  const v: Values = { ...saved, ...(d.values ?? {}) };
  const dis = writer ? '' : html` disabled`;
  const err = (f: (typeof FIELDS)[number]) => fieldError(errors, f, LABELS[f]);
  const described = (f: string) => (errors.some((e) => e.field === f) ? html` aria-invalid="true" aria-describedby="${f}-error"` : '');
  const previewQuery = new URLSearchParams(Object.entries(v).filter(([, x]) => x !== undefined) as Array<[string, string]>).toString();
  const body = html`<div class="card"><h1>Settings</h1>
<p class="muted">How ${a.effective.display_name} appears to clients: in every email (invitations, reminders, acceptance notices, password resets, teammate invitations) and on every page, the dead-link pages included.${
    writer ? '' : ' Only owners and admins can change these settings.'
  }</p>
${notice(d.notice)}${alert(d.alert)}${otherErrors(errors, [...FIELDS])}</div>
<div class="settings-grid">
<div class="card">
<form method="post" action="/console/settings" class="settings" id="settings-form" novalidate>
${writer ? csrfInput(c.csrf('settings')) : ''}
<h2>Identity</h2>
<label for="name">${LABELS.name}</label><input type="text" id="name" name="name" value="${v.name ?? ''}" maxlength="200" required${dis}${described('name')}>${err('name')}
<label for="display_name">${LABELS.display_name} <span class="muted">(what clients know you as; empty: the agency name)</span></label>
<input type="text" id="display_name" name="display_name" value="${v.display_name ?? ''}" maxlength="200"${dis}${described('display_name')}>${err('display_name')}
<label for="sender_name">${LABELS.sender_name} <span class="muted">(the From name of emails; empty: the display name)</span></label>
<input type="text" id="sender_name" name="sender_name" value="${v.sender_name ?? ''}" maxlength="200"${dis}${described('sender_name')}>${err('sender_name')}
<h2>Branding</h2>
<label for="brand_color">${LABELS.brand_color} <span class="muted">(#rrggbb)</span></label>
<div class="colour"><input type="color" id="brand_color_picker" value="${/^#[0-9a-fA-F]{6}$/.test(v.brand_color ?? '') ? v.brand_color! : a.brand_color}" aria-label="Pick a colour"${dis}>
<input type="text" id="brand_color" name="brand_color" value="${v.brand_color ?? ''}" maxlength="7" pattern="#[0-9a-fA-F]{6}"${dis}${described('brand_color')}></div>${err('brand_color')}
<label for="logo_url">${LABELS.logo_url} <span class="muted">(https only; loaded by your clients' mail readers, never by the server)</span></label>
<input type="text" id="logo_url" name="logo_url" value="${v.logo_url ?? ''}" maxlength="500" placeholder="https://…"${dis}${described('logo_url')}>${err('logo_url')}
<h2>Invitations</h2>
<label for="invite_expiry_days">${LABELS.invite_expiry_days} <span class="muted">(days, 1–${INVITE_EXPIRY_MAX_DAYS}; applies to new invitations and resends, not to invitations already sent)</span></label>
<input type="number" id="invite_expiry_days" name="invite_expiry_days" value="${v.invite_expiry_days ?? ''}" min="1" max="${INVITE_EXPIRY_MAX_DAYS}" step="1"${dis}${described('invite_expiry_days')}>${err('invite_expiry_days')}
<label for="default_message">${LABELS.default_message} <span class="muted">(used for every invitation sent without a message of its own)</span></label>
<textarea id="default_message" name="default_message" maxlength="2000"${dis}${described('default_message')}>${v.default_message ?? ''}</textarea>${err('default_message')}
<label for="invite_email_text">${LABELS.invite_email_text} <span class="muted">(in every invitation email, under the greeting)</span></label>
<textarea id="invite_email_text" name="invite_email_text" maxlength="2000"${dis}${described('invite_email_text')}>${v.invite_email_text ?? ''}</textarea>${err('invite_email_text')}
<h2>Client access</h2>
<label for="client_sign_in">${LABELS.client_sign_in}</label>
<select id="client_sign_in" name="client_sign_in"${dis}${described('client_sign_in')}>${(
    [
      ['password', 'Password: clients choose one when they accept'],
      ['magic_link', 'Magic link: no password, a single-use link by email each time'],
      ['either', 'Either: the client chooses'],
    ] as const
  ).map(
    ([value, label]) => html`<option value="${value}"${v.client_sign_in === value ? html` selected` : ''}>${label}</option>`,
  )}</select>${err('client_sign_in')}
<label for="reminder_hours_before">${LABELS.reminder_hours_before} <span class="muted">(hours before a pending invitation expires, e.g. "72, 24"; empty: no reminders)</span></label>
<input type="text" id="reminder_hours_before" name="reminder_hours_before" value="${v.reminder_hours_before ?? ''}" maxlength="40"${dis}${described('reminder_hours_before')}>${err('reminder_hours_before')}
<p class="muted">Clients sign in at <a href="/a/${a.slug}/login">/a/${a.slug}/login</a>; every client email links to it.</p>
${writer ? html`<div class="actions"><button type="submit">Save settings</button><span class="muted">The preview follows as you type; nothing is saved until you press Save.</span></div>` : ''}
</form></div>
<div class="card preview"><h2>Invitation email preview</h2>
<p class="muted">Exactly what a client receives, from the same template the sender uses (sample client and project; the inviter is you).</p>
<iframe id="email-preview" title="Invitation email preview" sandbox="allow-popups allow-popups-to-escape-sandbox" src="/console/settings/preview?${previewQuery}"></iframe>
</div></div>`;
  return { ...consolePage(c, { section: 'settings', title: 'Settings', body, scripts: ['settings-preview.js'] }) };
}
