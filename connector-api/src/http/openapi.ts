import { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

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
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

function parameters(op: OpenApiOperation): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [['path', op.params], ['query', op.query]] as const) {
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
    responses.default = { description: 'An error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    paths[path] ??= {};
    paths[path][op.method] = {
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags,
      operationId: `${op.method}_${path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
      ...(op.auth ? {} : { security: [] }),
      parameters: parameters(op),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries((op.bodyContentTypes ?? ['application/json']).map((ct) => [ct, { schema: toSchema(op.body!, 'input') }])),
            },
          }
        : {}),
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
