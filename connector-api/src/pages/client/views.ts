import {
  agencySignInPath,
  html,
  type AgencyBranding,
  type AgencyPage,
  type FieldError,
  type InvitationView,
  type PageBranding,
  type PortalView,
  type ResetView,
  type SafeHtml,
  type SignInLinkView,
} from '@onramp/core';
import { DEFAULT_BRAND, formatDueDate, signInFields, type PageOptions } from '../layout.js';
import { CSRF_FIELD } from '../csrf.js';

export type View = PageOptions;

const brandOf = (a: PageBranding | null | undefined): PageBranding => a ?? DEFAULT_BRAND;

function fieldError(errors: FieldError[], field: string): SafeHtml | '' {
  const e = errors.find((x) => x.field === field);
  return e ? html`<p class="error" id="${field}-error">${labelOf(field)} ${e.message}</p>` : '';
}

/** Choosing a password (accept and reset): the hidden username lets password managers save it for the right account. */
function newPasswordFields(email: string, errors: FieldError[]): SafeHtml {
  return html`<input type="email" name="username" value="${email}" autocomplete="username" hidden readonly>
<label for="new_password">New password</label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="10" maxlength="200" required>
${fieldError(errors, 'new_password')}
<label for="confirm_password">Confirm password</label>
<input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" minlength="10" maxlength="200" required>
${fieldError(errors, 'confirm_password')}`;
}

const labels: Record<string, string> = {
  password: 'Password',
  new_password: 'Password',
  confirm_password: 'Confirmation',
  email: 'Email',
};
const labelOf = (field: string) => labels[field] ?? field;

const csrfInput = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

export function invitePage(v: InvitationView, opts: { token: string; csrf: string; errors?: FieldError[] }): View {
  const errors = opts.errors ?? [];
  const action = `/invite/${opts.token}/accept`;
  const intro = html`<h1>Join ${v.project.name}</h1>
<p>Hi ${v.client.firstName}, ${v.agency.displayName} invited you to the <strong>${v.project.name}</strong> workspace.</p>
${v.message ? html`<div class="message"><span class="from">Message from ${v.agency.displayName}</span>${v.message}</div>` : ''}`;
  const joinWithoutPassword = html`<form method="post" action="${action}" novalidate>
${csrfInput(opts.csrf)}
<input type="hidden" name="method" value="link">
<p class="muted">No password needed: you join as ${v.client.email}. Next time, ask for a sign-in link by email.</p>
<div class="actions">${
    v.signIn === 'either'
      ? html`<button type="submit" class="secondary">Join without a password</button>`
      : html`<button type="submit">Join ${v.project.name}</button>`
  }</div>
</form>`;
  const passwordForm = v.client.hasPassword
    ? html`<form method="post" action="${action}" novalidate>
${csrfInput(opts.csrf)}
<p class="muted">You already have an account (${v.client.email}). Enter your password to accept.</p>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
${fieldError(errors, 'password')}
<div class="actions"><button type="submit">Accept</button><a href="/forgot">Forgot your password?</a></div>
</form>`
    : html`<form method="post" action="${action}" novalidate>
${csrfInput(opts.csrf)}
<h2>Set your password</h2>
<p class="muted">You will sign in as ${v.client.email}. Use at least 10 characters.</p>
${newPasswordFields(v.client.email, errors)}
<div class="actions"><button type="submit">Set password and join</button></div>
</form>`;
  // magic_link: never a password. either: the client chooses, the password first.
  const form =
    v.signIn === 'magic_link' ? joinWithoutPassword : v.signIn === 'either' ? html`${passwordForm}<p class="or">or</p>${joinWithoutPassword}` : passwordForm;
  return { title: `Join ${v.project.name}`, brand: v.agency, body: html`<div class="card">${intro}${form}</div>` };
}

/**
 * Unknown, revoked, replaced, accepted, expired: all the same page, naming only whom to ask, and offering
 * that agency's own sign-in page (a client who already joined gets in from there).
 */
export function inviteGonePage(agency: AgencyBranding | null): View {
  const ask = agency ? html`Ask ${agency.displayName} to send you a new one.` : html`Ask the person who invited you to send you a new one.`;
  const signIn = agency?.slug ? agencySignInPath(agency.slug) : '/login';
  return {
    title: 'Invitation no longer valid',
    brand: brandOf(agency),
    body: html`<div class="card"><h1>This invitation is no longer valid</h1><p>${ask}</p>
<p class="muted">Already joined${agency ? html` ${agency.displayName}` : ''}? <a href="${signIn}">Sign in</a>.</p></div>`,
  };
}

export function resetGonePage(agency: AgencyBranding | null): View {
  return {
    title: 'Link no longer valid',
    brand: brandOf(agency),
    body: html`<div class="card"><h1>This link is no longer valid</h1>
<p>Password reset links work once and for one hour.</p>
<p><a href="${agency?.slug ? `/a/${encodeURIComponent(agency.slug)}/forgot` : '/forgot'}">Ask for a new link</a></p></div>`,
  };
}

export function forbiddenPage(): View {
  return {
    title: 'Form expired',
    body: html`<div class="card"><h1>This form has expired</h1>
<p>For your security the form could not be accepted. Go back, reload the page and try again.</p></div>`,
  };
}

export function errorPage(status: number, message: string): View {
  return {
    title: status >= 500 ? 'Something went wrong' : 'Request not accepted',
    body: html`<div class="card"><h1>${status >= 500 ? 'Something went wrong' : 'Request not accepted'}</h1><p>${message}</p></div>`,
  };
}

export function portalPage(v: PortalView, opts: { csrf: string }): View {
  const signOut = html`<span class="who"><span>${v.client.firstName} ${v.client.lastName}</span>
<form method="post" action="/logout">${csrfInput(opts.csrf)}<button type="submit">Sign out</button></form></span>`;
  const projects = v.projects.map(
    (p) => html`<section class="card">
<h2>${p.name}${p.archived ? html` <span class="archived">(archived)</span>` : ''}</h2>
${
  p.tasks.length === 0
    ? html`<p class="muted">Nothing assigned to you here yet.</p>`
    : html`<ul class="tasks">${p.tasks.map(
        (t) => html`<li><span class="task-title">${t.title}</span>${t.dueDate ? html`<span class="due">Due ${formatDueDate(t.dueDate)}</span>` : ''}
${t.description ? html`<div class="muted">${t.description}</div>` : ''}</li>`,
      )}</ul>`
}
</section>`,
  );
  return {
    title: 'Your workspace',
    brand: v.agency,
    headerExtra: signOut,
    body: html`<div class="card"><h1>Welcome, ${v.client.firstName}</h1>
<p class="muted">Your workspaces with ${v.agency.displayName}. Tasks listed are the ones assigned to you.</p></div>
${projects}`,
  };
}

export function loginPage(opts: { csrf: string; email?: string; error?: string }): View {
  return {
    title: 'Sign in',
    body: html`<div class="card"><h1>Sign in</h1>
${opts.error ? html`<div class="alert" role="alert">${opts.error}</div>` : ''}
<form method="post" action="/login" novalidate>
${csrfInput(opts.csrf)}
${signInFields(opts.email)}
<div class="actions"><button type="submit">Sign in</button><a href="/forgot">Forgot your password?</a></div>
</form>
<p class="or">or</p>
${linkRequestForm('/login/link', opts.csrf, 'Your agency lets you sign in without a password? We will email you a sign-in link.')}</div>`,
  };
}

/** "Email me a sign-in link": one address field and a button. */
function linkRequestForm(action: string, csrf: string, intro: string, email?: string): SafeHtml {
  return html`<form method="post" action="${action}" novalidate>
${csrfInput(csrf)}
<p class="muted">${intro}</p>
<label for="link-email">Email</label>
<input type="email" id="link-email" name="email" value="${email ?? ''}" autocomplete="username" required>
<div class="actions"><button type="submit" class="secondary">Email me a sign-in link</button></div>
</form>`;
}

const agencyPath = (a: AgencyPage, page: 'login' | 'forgot' | 'link') => `/a/${encodeURIComponent(a.slug)}/${page}`;

/**
 * An agency's own sign-in page (/a/<slug>/login), in its branding and its sign-in mode: a password form
 * (password), an email-link form (magic_link), or both (either).
 */
export function agencyLoginPage(a: AgencyPage, opts: { csrf: string; email?: string; error?: string }): View {
  const password = html`<form method="post" action="${agencyPath(a, 'login')}" novalidate>
${csrfInput(opts.csrf)}
${signInFields(opts.email)}
<div class="actions"><button type="submit">Sign in</button><a href="${agencyPath(a, 'forgot')}">Forgot your password?</a></div>
</form>`;
  const link = linkRequestForm(
    agencyPath(a, 'link'),
    opts.csrf,
    a.signIn === 'magic_link'
      ? 'Enter your email address and we will email you a link that signs you in. No password needed.'
      : 'Or sign in without your password: we will email you a link.',
    a.signIn === 'magic_link' ? opts.email : undefined,
  );
  const forms = a.signIn === 'magic_link' ? link : a.signIn === 'either' ? html`${password}<p class="or">or</p>${link}` : password;
  return {
    title: 'Sign in',
    brand: a,
    body: html`<div class="card"><h1>Sign in to ${a.displayName}</h1>
${opts.error ? html`<div class="alert" role="alert">${opts.error}</div>` : ''}
${forms}</div>`,
  };
}

/** The answer to a sign-in link request: the same whether or not the address has an account. */
export function linkSentPage(a: AgencyPage | null, email: string): View {
  const back = a ? agencyPath(a, 'login') : '/login';
  return {
    title: 'Check your email',
    ...(a ? { brand: a } : {}),
    body: html`<div class="card"><h1>Check your email</h1>
<div class="notice" role="status">If ${email || 'that address'} can sign in${a ? html` to ${a.displayName}` : ''} by email link, we sent it a link. It works once, for 15 minutes.</div>
<p class="muted">Nothing arrived? Check your spam folder, or <a href="${back}">ask again</a>.</p></div>`,
  };
}

/** Opening a sign-in link: a button, because mail scanners open links too and a GET must not sign anyone in. */
export function signInLinkPage(v: SignInLinkView, opts: { token: string; csrf: string }): View {
  return {
    title: 'Sign in',
    brand: v.agency,
    body: html`<div class="card"><h1>Sign in to ${v.agency.displayName}</h1>
<p>Hi ${v.client.firstName}, continue as <strong>${v.client.email}</strong>.</p>
<p class="muted">This link works once.</p>
<form method="post" action="/signin/${opts.token}" novalidate>
${csrfInput(opts.csrf)}
<div class="actions"><button type="submit">Continue to your portal</button></div>
</form></div>`,
  };
}

export function signInLinkGonePage(a: AgencyPage | null): View {
  return {
    title: 'Link no longer valid',
    ...(a ? { brand: a } : {}),
    body: html`<div class="card"><h1>This sign-in link is no longer valid</h1>
<p>Sign-in links work once and for 15 minutes.</p>
<p><a href="${a ? agencyPath(a, 'login') : '/login'}">Ask for a new link</a></p></div>`,
  };
}

export function agencyNotFoundPage(): View {
  return {
    title: 'Page not found',
    body: html`<div class="card"><h1>Page not found</h1><p>There is no sign-in page at this address. Use the link in an email from your agency, or <a href="/login">sign in here</a>.</p></div>`,
  };
}

export function forgotPage(opts: { csrf: string; sent?: boolean; email?: string; agency?: AgencyPage }): View {
  const a = opts.agency;
  const login = a ? agencyPath(a, 'login') : '/login';
  return {
    title: 'Reset your password',
    ...(a ? { brand: a } : {}),
    body: html`<div class="card"><h1>Reset your password</h1>
${
  opts.sent
    ? html`<div class="notice" role="status">If an account exists for ${opts.email ?? 'that address'}, we sent a link to reset its password. The link works for one hour.</div>
<p><a href="${login}">Back to sign in</a></p>`
    : html`<p class="muted">Enter the email address you sign in with; we will send you a link.</p>
<form method="post" action="${a ? agencyPath(a, 'forgot') : '/forgot'}" novalidate>
${csrfInput(opts.csrf)}
<label for="email">Email</label>
<input type="email" id="email" name="email" autocomplete="username" required>
<div class="actions"><button type="submit">Send link</button><a href="${login}">Back to sign in</a></div>
</form>`
}</div>`,
  };
}

export function resetPage(v: ResetView, opts: { token: string; csrf: string; errors?: FieldError[] }): View {
  const errors = opts.errors ?? [];
  return {
    title: 'Choose a new password',
    brand: v.agency,
    body: html`<div class="card"><h1>Choose a new password</h1>
<p class="muted">For ${v.client.email}. Use at least 10 characters. Other devices signed in as you will be signed out.</p>
<form method="post" action="/reset/${opts.token}" novalidate>
${csrfInput(opts.csrf)}
${newPasswordFields(v.client.email, errors)}
<div class="actions"><button type="submit">Save password</button></div>
</form></div>`,
  };
}
