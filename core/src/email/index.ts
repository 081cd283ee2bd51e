export * from './escape.js';
export * from './templates.js';
export * from './transport.js';
export * as emailsSql from '../sql/emails.js';
export type { EmailRow, EmailStatus } from '../sql/emails.js';
export * from './compose.js';
