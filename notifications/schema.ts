/**
 * Webhook endpoints and deliveries. Each department (and the bureau, as owner `bureau`) registers the
 * URLs where it wants to hear about its applications and grants; every delivery and its attempts are
 * kept for the owner to see.
 *
 * Security: webhook URLs are trusted as the operator trusts the departments that register them. The
 * platform refuses anything but http(s) URLs without credentials, never follows redirects, and signs
 * every delivery; it does not stop a department from naming an internal address, so deployments that
 * must prevent that should route webhook traffic through an egress proxy.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ActorRef } from '../catalog/records.js';
import { EventType, WorkflowEvent } from '../policies/applications/schema.js';

export const WebhookEndpointRequest = Type.Object(
  {
    url: Type.String({
      minLength: 8,
      maxLength: 2000,
      description: 'http:// or https:// URL receiving POSTs',
    }),
    events: Type.Optional(
      Type.Array(EventType, {
        uniqueItems: true,
        maxItems: 50,
        description: 'Event types wanted; every type when omitted',
      }),
    ),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type WebhookEndpointRequest = Static<typeof WebhookEndpointRequest>;

export const WebhookEndpoint = Type.Object(
  {
    id: Type.String(),
    owner: Type.String({ description: 'Department code, or "bureau"' }),
    url: Type.String(),
    events: Type.Array(EventType, { description: 'Empty: every type' }),
    description: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    createdBy: ActorRef,
  },
  { additionalProperties: false },
);
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;

/** What a receiver gets: the event without its recipient list. */
export const DeliveredEvent = Type.Omit(WorkflowEvent, ['recipients']);
export type DeliveredEvent = Static<typeof DeliveredEvent>;

export const DeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
]);
export type DeliveryStatus = Static<typeof DeliveryStatus>;

export const Delivery = Type.Object(
  {
    id: Type.String({ description: '<event id>.<endpoint id>' }),
    owner: Type.String(),
    endpointId: Type.String(),
    url: Type.String(),
    event: DeliveredEvent,
    status: DeliveryStatus,
    attempts: Type.Integer({ minimum: 0 }),
    createdAt: Type.String({ format: 'date-time' }),
    lastAttemptAt: Type.Optional(Type.String({ format: 'date-time' })),
    lastStatus: Type.Optional(Type.Integer({ description: 'HTTP status of the last attempt' })),
    lastError: Type.Optional(Type.String()),
    deliveredAt: Type.Optional(Type.String({ format: 'date-time' })),
    failedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type Delivery = Static<typeof Delivery>;

/** One entry of a recipient's inbox: every event addressed to it, whether or not it has webhooks. */
export const InboxEntry = DeliveredEvent;
export type InboxEntry = Static<typeof InboxEntry>;
