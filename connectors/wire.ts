/**
 * The front-end processor wire protocol (see the comment at the top of http-connector.ts): one schema per
 * message, used by the HTTP connector to check what a provider answers and by the simulator to check what
 * it is asked.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** Most key values in one lookup call. */
export const MAX_LOOKUP_VALUES = 1000;
/** Longest key value in a lookup. */
export const MAX_KEY_VALUE_LENGTH = 200;
/** Most rows in one page. */
export const MAX_PAGE_LIMIT = 10_000;

export const WireRow = Type.Record(Type.String(), Type.Unknown());

export const LookupRequest = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 63, description: 'Key item the values belong to' }),
    values: Type.Array(Type.String({ maxLength: MAX_KEY_VALUE_LENGTH }), {
      minItems: 1,
      maxItems: MAX_LOOKUP_VALUES,
    }),
  },
  { additionalProperties: false },
);
export type LookupRequest = Static<typeof LookupRequest>;

export const LookupResponse = Type.Object({ rows: Type.Array(WireRow) });
export type LookupResponse = Static<typeof LookupResponse>;

export const PageResponse = Type.Object({
  rows: Type.Array(WireRow),
  next: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  total: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type PageResponse = Static<typeof PageResponse>;

export const checkLookupRequest = TypeCompiler.Compile(LookupRequest);
export const checkLookupResponse = TypeCompiler.Compile(LookupResponse);
export const checkPageResponse = TypeCompiler.Compile(PageResponse);
