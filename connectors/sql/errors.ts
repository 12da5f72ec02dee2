/**
 * Errors of the SQL connector that are not the provider's failures (those are the connectors' UPSTREAM_*
 * errors, see ../errors.ts): a caller's cursor or parameter that cannot be used, and a bad sources file.
 * Messages never repeat the values that were passed (they may be ID numbers).
 */
import { createError, type FastifyErrorConstructor } from '@fastify/error';

export const sqlConnectorErrors = {
  SQL_CURSOR_INVALID: createError('SQL_CURSOR_INVALID', '%s', 400),
  SQL_PARAMETER_INVALID: createError('SQL_PARAMETER_INVALID', '%s', 400),
  SQL_SOURCES_INVALID: createError('SQL_SOURCES_INVALID', '%s', 500),
} satisfies Record<string, FastifyErrorConstructor>;

export const sqlConnectorErrorDocs: Record<keyof typeof sqlConnectorErrors, string> = {
  SQL_CURSOR_INVALID:
    'The page cursor was not made by this data service for this kind of read (full or incremental); start again without `after`.',
  SQL_PARAMETER_INVALID:
    "A key value, lookup item or watermark value does not fit the front-end database's column (e.g. text for a numeric key, a malformed timestamp).",
  SQL_SOURCES_INVALID:
    'The SQL sources file is missing, is not valid JSON, or a source is wrong (the message names it); passwords come from passwordFile or passwordEnv only.',
};

export type SqlConnectorErrorCode = keyof typeof sqlConnectorErrors;
