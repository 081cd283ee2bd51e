/**
 * Stable error codes. Clients (Zapier, CRMs, the CLI) branch on these, so they never change meaning.
 * The HTTP status for each lives at the one boundary that speaks HTTP (connector-api/src/http/problem.ts).
 */
export const errorCodes = [
  'bad_request',
  'malformed_json',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'client_deactivated',
  'email_belongs_to_firm_user',
  'email_belongs_to_client',
  'invitation_not_pending',
  'idempotency_key_in_use',
  'gone',
  'payload_too_large',
  'headers_too_large',
  'unsupported_media_type',
  'validation_failed',
  'idempotency_key_reused',
  'rate_limited',
  'internal',
  'unavailable',
] as const;

export type ErrorCode = (typeof errorCodes)[number];
