/** The signed headers a call forwarded by a peer platform carries (federation/origin.ts checks them). */
import { Type } from '@sinclair/typebox';
import { FEDERATION_HEADERS } from '../../federation/origin.js';

export const ForwardedHeaders = Type.Object({
  'x-purpose': Type.String({ maxLength: 128, description: "The original caller's purpose (signed)" }),
  'x-user-id': Type.String({
    maxLength: 128,
    description: 'The official acting at the lower platform (signed)',
  }),
  'x-case-id': Type.Optional(
    Type.String({ maxLength: 128, description: 'Case or matter (signed when sent)' }),
  ),
  [FEDERATION_HEADERS.agreement]: Type.String({
    maxLength: 64,
    description: 'Federation agreement id (signed)',
  }),
  [FEDERATION_HEADERS.originDept]: Type.String({
    maxLength: 32,
    description: 'Original department USCC (signed)',
  }),
  [FEDERATION_HEADERS.originSystem]: Type.String({ maxLength: 64, description: 'Original system (signed)' }),
  [FEDERATION_HEADERS.correlation]: Type.String({
    maxLength: 128,
    description: 'Correlation id both platforms audit the call under (signed)',
  }),
});
