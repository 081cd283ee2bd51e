import type { Request, Response } from 'express';
import { AppError, html, readConsoleFlash, saveConsoleFlash, type Deps, type FieldError, type SafeHtml } from '@onramp/core';
import { statusByCode } from '../../http/problem.js';
import { see } from '../cookies.js';
import type { ConsoleLocals } from './layout.js';

/**
 * Small pieces the console's feature pages share: reading form fields, the notice a redirect carries
 * (Post/Redirect/Get), field errors next to their inputs, and turning a use case's refusal into a message.
 */

export const one = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

/** A trimmed, non-empty text value of a query or form field, else undefined. */
export const optionalText = (v: unknown): string | undefined => {
  const s = one(v);
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
};

/** A form field as the user typed it ('' when absent), for re-filling a form. */
export const field = (body: unknown, name: string): string => {
  const v = one((body as Record<string, unknown> | undefined)?.[name]);
  return typeof v === 'string' ? v : '';
};

/** Every value of a repeated field (checkboxes), strings only, at most `max`. */
export const many = (body: unknown, name: string, max = 1000): string[] => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return list.filter((x): x is string => typeof x === 'string').slice(0, max);
};

/** What the page after a redirect says: a notice (it worked), an alert (it did not), or both with details. */
export interface Flash {
  notice?: string;
  alert?: string;
  /** Lines under the message, e.g. one per item of a bulk action that did not go through. */
  details?: string[];
  /** A partly successful bulk: shown as a notice with a warning, not as an error. */
  partial?: boolean;
}

/** Save the outcome for the user and redirect to `location` with its id (`?flash=`). */
export async function redirectWithFlash(deps: Deps, res: Response, c: ConsoleLocals, location: string, flash: Flash): Promise<void> {
  const id = await saveConsoleFlash(deps, c.session.principal.userId, flash);
  see(res, `${location}${location.includes('?') ? '&' : '?'}flash=${id}`);
}

export async function flashOf(deps: Deps, req: Request, c: ConsoleLocals): Promise<Flash | null> {
  return readConsoleFlash<Flash>(deps, c.session.principal.userId, optionalText(req.query.flash));
}

export function flashBlock(f: Flash | null | undefined): SafeHtml | '' {
  if (!f) return '';
  const details = f.details?.length ? html`<ul class="results">${f.details.map((d) => html`<li>${d}</li>`)}</ul>` : '';
  return html`${f.notice ? html`<div class="notice${f.partial ? ' partial' : ''}" role="status" id="flash-notice"><strong>${f.notice}</strong>${f.alert ? '' : details}</div>` : ''}${
    f.alert ? html`<div class="alert" role="alert" id="flash-alert"><strong>${f.alert}</strong>${details}</div>` : ''
  }`;
}

/** The message of a refusal the user can act on; anything else (not found, a bug) goes to the error page. */
export function refusal(err: unknown): { status: number; message: string; errors: FieldError[] } {
  if (!(err instanceof AppError) || err.code === 'not_found' || err.code === 'internal' || err.code === 'unavailable') throw err;
  return { status: statusByCode[err.code], message: err.detail ?? err.title, errors: err.errors };
}

export function fieldError(errors: FieldError[] | undefined, name: string, label: string): SafeHtml | '' {
  const e = errors?.find((x) => x.field === name || x.field.endsWith(`.${name}`));
  return e ? html`<p class="error" id="${name}-error">${label} ${e.message}</p>` : '';
}

/** aria attributes tying an input to its error, when it has one. */
export function describedBy(errors: FieldError[] | undefined, name: string): SafeHtml | '' {
  return errors?.some((x) => x.field === name || x.field.endsWith(`.${name}`)) ? html` aria-invalid="true" aria-describedby="${name}-error"` : '';
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What an invite through the console did, in the words the next page shows (the use case's outcomes). */
export const inviteNotice = (result: string, who: string, project: string): string =>
  ({
    invited: `Invited ${who} to ${project}. The invitation is pending until they accept.`,
    already_invited: `${who} already has a pending invitation to ${project}; nothing new was sent.`,
    added: `${who} is an active client and was added to ${project} without an email.`,
    already_member: `${who} is already a member of ${project}.`,
  })[result] ?? `Done: ${result}.`;
