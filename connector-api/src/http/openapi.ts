import { z } from 'zod';

type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface OpenApiOperation {
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string | undefined;
  tags: string[];
  auth: boolean;
  params?: z.ZodType | undefined;
  query?: z.ZodType | undefined;
  body?: z.ZodType | undefined;
  bodyContentTypes?: string[] | undefined;
  responses: Record<number, { description: string; schema?: z.ZodType | undefined; contentType?: string | undefined }>;
  idempotent?: boolean | undefined;
  /** The handler reads the body stream itself (an upload), in `bodyContentTypes`. */
  rawBody?: boolean | undefined;
  /** Error answers the operation's own story adds to the derived ones (a 409 of a GET, say). */
  errors?: Record<number, string> | undefined;
  /** An upload: the body field that carries the file in multipart/form-data, and the file's media type. */
  file?: { field: string; contentType: string } | undefined;
}

/**
 * The error answers an operation can give, derived from what it is (so a new route documents them by
 * being defined): who may call it, whether it has a path id, a body, a query, an Idempotency-Key.
 */
function errorStatuses(op: OpenApiOperation): Map<number, string> {
  const out = new Map<number, string>();
  const hasBody = op.body !== undefined || op.rawBody === true;
  const write = op.method !== 'get';
  if (hasBody) out.set(400, 'Malformed request body (`malformed_json`, `bad_request`: unreadable or nested too deeply)');
  if (op.auth) out.set(401, 'Missing, unknown or revoked API key (`unauthorized`)');
  if (op.auth && write) out.set(403, 'The key belongs to a member; only owners and admins write (`forbidden`)');
  if (/:\w+/.test(op.path)) out.set(404, 'No such resource in this agency, or a malformed id (`not_found`)');
  if (write && op.auth)
    out.set(409, 'A conflict with the current state, or a request with this Idempotency-Key still running (`conflict`, `idempotency_key_in_use`, ...)');
  if (hasBody) out.set(413, 'The body is larger than the server accepts (`payload_too_large`)');
  if (hasBody) out.set(415, `The body is not ${(op.bodyContentTypes ?? ['application/json']).join(' or ')} (\`unsupported_media_type\`)`);
  out.set(422, 'A field or query parameter failed validation, or is unknown; each is named in `errors` (`validation_failed`, `idempotency_key_reused`)');
  out.set(431, 'The request line and headers are larger than the server reads (16 KB): send long values in the body (`headers_too_large`)');
  if (write && op.auth) out.set(429, 'A rate limit was reached; retry after `Retry-After` seconds (`rate_limited`)');
  for (const [status, description] of Object.entries(op.errors ?? {})) out.set(Number(status), description);
  out.set(503, 'A backing service is unreachable, or the process is shutting down; nothing changed; retry after `Retry-After` seconds (`unavailable`)');
  return out;
}

function requestBody(op: OpenApiOperation): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const ct of op.bodyContentTypes ?? ['application/json']) {
    if (ct === 'multipart/form-data' && op.file) {
      const schema = toSchema(op.body!, 'input') as { properties?: Record<string, Record<string, unknown>> };
      const file = schema.properties?.[op.file.field];
      if (file) schema.properties![op.file.field] = { ...file, contentMediaType: op.file.contentType };
      content[ct] = { schema, encoding: { [op.file.field]: { contentType: op.file.contentType } } };
    } else if (op.file && ct === op.file.contentType) {
      // The file itself is the body.
      content[ct] = { schema: { type: 'string', contentMediaType: ct, description: toSchema(op.body!, 'input').description ?? 'The file' } };
    } else {
      content[ct] = { schema: toSchema(op.body!, 'input') };
    }
  }
  return { required: true, content };
}

const toSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The path of the request that failed' },
    request_id: { type: 'string', description: 'Also in the X-Request-Id header; quote it when asking for help' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

function parameters(op: OpenApiOperation): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', op.params],
    ['query', op.query],
  ] as const) {
    if (!schema) continue;
    const json = toSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, s] of Object.entries(json.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: s });
    }
  }
  if (op.idempotent) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Replaying the same key returns the first response; the same key with a different body is rejected (422).',
      schema: { type: 'string', maxLength: 255 },
    });
  }
  return out;
}

/** OpenAPI 3.1 built from the very zod schemas the routes validate with, so the document cannot drift. */
export function buildOpenApi(
  ops: OpenApiOperation[],
  info: { version: string; serverUrl: string; webhooks?: Record<string, { summary: string; schema: z.ZodType }> },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const path = op.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: toSchema(r.schema, 'output') } } } : {}),
      };
    }
    for (const [status, description] of [...errorStatuses(op)].sort(([x], [y]) => x - y)) {
      responses[String(status)] ??= { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    paths[path] ??= {};
    paths[path][op.method] = {
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags,
      operationId: `${op.method}_${path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
      ...(op.auth ? {} : { security: [] }),
      parameters: parameters(op),
      ...(op.body ? { requestBody: requestBody(op) } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Onramp API',
      version: info.version,
      description: 'Invite clients into per-client workspaces, track every invitation, import CSV batches, and subscribe to events.',
    },
    servers: [{ url: info.serverUrl }],
    // What Onramp POSTs to a subscribed target_url, one entry per event (OpenAPI 3.1 webhooks).
    ...(info.webhooks
      ? {
          webhooks: Object.fromEntries(
            Object.entries(info.webhooks).map(([event, w]) => [
              event,
              {
                post: {
                  summary: w.summary,
                  operationId: `webhook_${event.replace(/\W+/g, '_')}`,
                  parameters: [
                    ['Onramp-Signature', '`v1=` + hex HMAC-SHA256, keyed with the hook secret, of `<Onramp-Timestamp>.<body>`'],
                    ['Onramp-Timestamp', 'Unix seconds when the attempt was signed'],
                    ['Onramp-Event', 'The event type'],
                    ['Onramp-Delivery-Id', 'The same for every attempt of this delivery (deduplicate on it)'],
                  ].map(([name, description]) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } })),
                  requestBody: { required: true, content: { 'application/json': { schema: toSchema(w.schema, 'output') } } },
                  responses: { '2XX': { description: 'Delivered; any other answer is retried' } },
                },
              },
            ]),
          ),
        }
      : {}),
    security: [{ bearerAuth: [] }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An Onramp API key (onr_...)' } },
      schemas: { Problem: problemSchema },
    },
    paths,
  };
}
