import { html, type FieldError, type SafeHtml } from '@onramp/core';

/**
 * Small helpers the administration pages share (settings, team, API keys, profile): reading a urlencoded
 * form field, and showing a field's error next to it. The checks themselves are the use cases' zod schemas.
 */
export const formText = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s.replace(/\r\n/g, '\n') : '';
};

export function fieldError(errors: FieldError[], field: string, label: string): SafeHtml | '' {
  const e = errors.find((x) => x.field === field);
  return e ? html`<p class="error" id="${field}-error">${label} ${e.message}</p>` : '';
}

/** Errors that name no field shown on this form (or the whole body), listed above it. */
export function otherErrors(errors: FieldError[], shown: string[]): SafeHtml | '' {
  const rest = errors.filter((e) => !shown.includes(e.field));
  return rest.length
    ? html`<div class="alert" role="alert">${rest.map((e) => html`<div>${e.field === '(body)' ? '' : `${e.field}: `}${e.message}</div>`)}</div>`
    : '';
}

export const notice = (text: string | undefined): SafeHtml | '' => (text ? html`<div class="notice" role="status">${text}</div>` : '');
export const alert = (text: string | undefined): SafeHtml | '' => (text ? html`<div class="alert" role="alert">${text}</div>` : '');
