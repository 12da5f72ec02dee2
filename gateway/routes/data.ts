/**
 * Signed data pulls by department systems. `GET /v1/data/{code}?{keyItem}=value[&items=a,b]` looks up one
 * key; `POST /v1/data/{code}/query` looks up a batch. Both run the same data path (data-path/serve.ts).
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ITEM_NAME_PATTERN, RESOURCE_CODE_PATTERN } from '../../catalog/schema.js';
import { MAX_KEY_VALUE_LENGTH } from '../../connectors/wire.js';
import { gatewayErrors } from '../app/errors.js';
import { problemResponses } from '../app/schemas.js';
import type { DataPathDeps } from '../data-path/serve.js';
import { serveData } from '../data-path/serve.js';

export const CodeParams = Type.Object({
  code: Type.String({ pattern: RESOURCE_CODE_PATTERN, description: 'Resource code, percent-encoded' }),
});
export const ItemName = Type.String({ pattern: ITEM_NAME_PATTERN });
// A key value goes to the provider as is: no longer than the wire protocol takes (else 502 from upstream).
export const Value = Type.String({ minLength: 1, maxLength: MAX_KEY_VALUE_LENGTH });
export const DataResponse = Type.Object({
  data: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  meta: Type.Object({
    requestId: Type.String(),
    resource: Type.String(),
    grantId: Type.String(),
    count: Type.Integer(),
    schemaViolations: Type.Optional(
      Type.Array(Type.Object({ row: Type.Integer(), item: Type.String(), message: Type.String() })),
    ),
  }),
});
const SignedHeaders = Type.Object({
  'x-purpose': Type.Optional(
    Type.String({ maxLength: 64, description: 'Purpose code the grant allows (signed)' }),
  ),
  'x-user-id': Type.Optional(
    Type.String({
      maxLength: 128,
      description:
        'Official acting through the system (signed); required unless the grant is machine-to-machine and GOVSHARE_MACHINE_CALLS is on (USER_ID_REQUIRED)',
    }),
  ),
  'x-case-id': Type.Optional(
    Type.String({ maxLength: 128, description: 'Case or matter the call serves (signed when sent)' }),
  ),
});

function splitItems(items: string | undefined): string[] | undefined {
  if (items === undefined) return undefined;
  const list = items.split(',').filter(Boolean);
  for (const item of list) {
    if (!new RegExp(ITEM_NAME_PATTERN).test(item))
      throw new gatewayErrors.VALIDATION_FAILED(`items: "${item.slice(0, 64)}" is not an item name`);
  }
  return list;
}

export const dataRoutes: FastifyPluginAsyncTypebox<{ deps: DataPathDeps; batchMaxKeys: number }> = async (
  app,
  { deps, batchMaxKeys },
) => {
  app.get(
    '/v1/data/:code',
    {
      config: { access: 'system', nonce: 'data-path' },
      schema: {
        tags: ['data'],
        description:
          'Look up one key of a resource: `?idNumber=...` (the key item) plus any control parameters; `items=a,b` narrows the items. ' +
          'Signed (RFC 9421): cover @method, @target-uri, x-purpose and x-user-id (and x-case-id when sent).',
        params: CodeParams,
        headers: SignedHeaders,
        querystring: Type.Record(
          Type.String({ pattern: '^[a-z][A-Za-z0-9_]{0,62}$' }),
          Type.String({ maxLength: 2000 }),
          {
            maxProperties: 21,
          },
        ),
        response: { 200: DataResponse, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { items, ...params } = request.query as Record<string, string>;
      const names = Object.keys(params);
      if (names.length === 0) {
        throw new gatewayErrors.VALIDATION_FAILED(
          'Name the key to look up, e.g. ?idNumber=...; unkeyed scans are not offered through the API.',
        );
      }
      for (const value of Object.values(params)) {
        if (value.length === 0 || value.length > MAX_KEY_VALUE_LENGTH)
          throw new gatewayErrors.VALIDATION_FAILED(
            `query values must be 1 to ${MAX_KEY_VALUE_LENGTH} characters`,
          );
      }
      const entry = await deps.resources.get(request.params.code);
      const keyItem =
        names.find((name) => entry?.entry.items.some((i) => i.key && i.name === name)) ?? names[0]!;
      const { [keyItem]: key, ...conditions } = params;
      const itemList = splitItems(items);
      return serveData(
        request,
        reply,
        {
          code: request.params.code,
          keyItem,
          keys: [key!],
          ...(itemList ? { items: itemList } : {}),
          conditions,
          action: 'data.lookup',
        },
        deps,
      );
    },
  );

  app.post(
    '/v1/data/:code/query',
    {
      config: { access: 'system', nonce: 'data-path' },
      schema: {
        tags: ['data'],
        description: `Look up a batch of up to ${batchMaxKeys} keys. Signed (RFC 9421) with Content-Digest covered.`,
        params: CodeParams,
        headers: SignedHeaders,
        body: Type.Object(
          {
            keys: Type.Array(Value, {
              minItems: 1,
              maxItems: batchMaxKeys,
              description: 'Values of the key item (or of keyItem)',
            }),
            keyItem: Type.Optional(ItemName),
            items: Type.Optional(Type.Array(ItemName, { minItems: 1, maxItems: 500, uniqueItems: true })),
            conditions: Type.Optional(
              Type.Record(ItemName, Value, {
                maxProperties: 20,
                description: 'Equality conditions, e.g. control parameters',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: DataResponse, ...problemResponses },
      },
    },
    async (request, reply) =>
      serveData(
        request,
        reply,
        {
          code: request.params.code,
          ...(request.body.keyItem ? { keyItem: request.body.keyItem } : {}),
          keys: [...new Set(request.body.keys)],
          ...(request.body.items ? { items: request.body.items } : {}),
          conditions: request.body.conditions ?? {},
          action: 'data.query',
        },
        deps,
      ),
  );
};
