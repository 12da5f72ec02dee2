/**
 * The platform CA, departments, systems and certificates over HTTP. Registration and certificates belong
 * to the security-admin (三员分立: not the bureau, not the auditor); the CA certificate and CRL are public
 * so that any relying party can check a department system's certificate.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { USCC_PATTERN } from '../../catalog/schema.js';
import * as registry from '../../certs/registry.js';
import {
  CertificateRecord,
  Department,
  DepartmentSystem,
  RevocationReason,
  SERIAL_PATTERN,
  SYSTEM_ID_PATTERN,
  SystemRole,
} from '../../certs/schema.js';
import type { GatewayContext } from '../app/context.js';
import { problemResponses } from '../app/schemas.js';
import { personOf, requireOwnDepartment } from '../plugins/people-auth.js';

const CertificateView = Type.Composite([
  Type.Omit(CertificateRecord, ['certPem']),
  Type.Object({
    effectiveStatus: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
  }),
]);
const DeptParams = Type.Object({ code: Type.String({ pattern: USCC_PATTERN }) });

export const identityRoutes: FastifyPluginAsyncTypebox<{ context: GatewayContext }> = async (
  app,
  { context },
) => {
  const { certs, platform } = context;

  app.get(
    '/v1/ca/cert',
    {
      config: { access: 'public' },
      schema: {
        tags: ['ca'],
        description: 'The platform root CA certificate (PEM).',
        produces: ['application/x-pem-file'],
      },
    },
    async (_request, reply) => reply.type('application/x-pem-file').send(platform.caCertPem),
  );

  app.get(
    '/v1/ca/platform-cert',
    {
      config: { access: 'public' },
      schema: {
        tags: ['ca'],
        description:
          'The platform signing certificate (PEM, issued by the CA): verifies response signatures, audit checkpoints and webhooks.',
        produces: ['application/x-pem-file'],
      },
    },
    async (_request, reply) => reply.type('application/x-pem-file').send(platform.signingCertPem),
  );

  app.get(
    '/v1/ca/crl',
    {
      config: { access: 'public' },
      schema: {
        tags: ['ca'],
        description: 'The current certificate revocation list, DER, signed by the platform CA.',
        produces: ['application/pkix-crl'],
      },
    },
    async (_request, reply) => {
      const crl = await registry.currentCrl(platform, certs, {
        crlDays: context.config.GOVSHARE_CRL_DAYS,
        now: context.now(),
      });
      return reply
        .type('application/pkix-crl')
        .header('cache-control', 'public, max-age=60')
        .header('x-crl-number', String(crl.crlNumber))
        .send(crl.der);
    },
  );

  app.get(
    '/v1/ca/crl/status',
    {
      config: { access: 'public' },
      schema: {
        tags: ['ca'],
        description:
          'The current CRL in words: its number, when it was issued (thisUpdate), when the next is due (nextUpdate) and how many certificates it lists as revoked.',
        response: {
          200: Type.Object({
            crlNumber: Type.Integer({ minimum: 0 }),
            thisUpdate: Type.String({ format: 'date-time' }),
            nextUpdate: Type.String({ format: 'date-time' }),
            revoked: Type.Integer({ minimum: 0 }),
          }),
          ...problemResponses,
        },
      },
    },
    async (_request, reply) => {
      const crl = await registry.currentCrl(platform, certs, {
        crlDays: context.config.GOVSHARE_CRL_DAYS,
        now: context.now(),
      });
      return reply.header('cache-control', 'public, max-age=60').send(registry.crlStatus(crl));
    },
  );

  app.post(
    '/v1/departments',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['identities'],
        description:
          'Register a department by its unified social credit code (check character verified, GB 32100-2015).',
        body: Type.Object(
          {
            code: Type.String({ minLength: 1, maxLength: 18 }),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            allowInvalidCheck: Type.Optional(
              Type.Boolean({
                description: 'Operator override for historic codes whose check character is wrong',
              }),
            ),
            homePlatform: Type.Optional(
              Type.String({
                pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
                description:
                  'A department of this federated peer platform (its id), to be granted directly: reached only through what that peer forwards',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Department, ...problemResponses },
      },
    },
    async (request, reply) => {
      const department = await registry.addDepartment(certs, request.body, context.now());
      await request.auditAdmin('department.add', { dept: department.code, usccCheck: department.usccCheck });
      return reply.code(201).send(department);
    },
  );

  app.get(
    '/v1/departments',
    {
      config: { access: ['security-admin', 'bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['identities'],
        description: 'Registered departments.',
        response: { 200: Type.Object({ departments: Type.Array(Department) }), ...problemResponses },
      },
    },
    async () => ({ departments: await certs.listDepartments() }),
  );

  app.post(
    '/v1/departments/:code/systems',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['identities'],
        description: 'Register a system (业务系统) of a department.',
        params: DeptParams,
        body: Type.Object(
          {
            systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
            name: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: DepartmentSystem, ...problemResponses },
      },
    },
    async (request, reply) => {
      const system = await registry.addSystem(
        certs,
        { deptCode: request.params.code, ...request.body },
        context.now(),
      );
      await request.auditAdmin('system.add', { dept: system.deptCode, system: system.systemId });
      return reply.code(201).send(system);
    },
  );

  app.get(
    '/v1/departments/:code/systems',
    {
      config: { access: ['security-admin', 'bureau', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['identities'],
        description: "A department's systems. A dept-admin sees only its own department.",
        params: DeptParams,
        response: { 200: Type.Object({ systems: Type.Array(DepartmentSystem) }), ...problemResponses },
      },
    },
    async (request) => {
      requireOwnDepartment(personOf(request), request.params.code);
      return { systems: await certs.listSystems(request.params.code) };
    },
  );

  app.put(
    '/v1/departments/:code/systems/:systemId/role',
    {
      config: { access: ['bureau'] },
      schema: {
        tags: ['identities'],
        description:
          "Set what a system may do beyond the data calls its grants allow: `portal` makes it a citizen portal that may ask who used a person's record (GET /v1/transparency/uses); `standard` takes that away. The bureau decides; it takes effect on the next call.",
        params: Type.Object({
          code: Type.String({ pattern: USCC_PATTERN }),
          systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
        }),
        body: Type.Object({ role: SystemRole }, { additionalProperties: false }),
        response: { 200: DepartmentSystem, ...problemResponses },
      },
    },
    async (request) => {
      const { code, systemId } = request.params;
      const system = await certs.setSystemRole(code, systemId, request.body.role);
      await request.auditAdmin('system.role', { dept: code, system: systemId, role: request.body.role });
      return system;
    },
  );

  app.post(
    '/v1/certificates',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['identities'],
        description:
          'Issue a certificate for a system. Send `publicKeyPem` to certify a key the department generated itself ' +
          '(recommended: the private key never travels); without it the platform generates the key pair and returns `keyPem` once.',
        body: Type.Object(
          {
            deptCode: Type.String({ pattern: USCC_PATTERN }),
            systemId: Type.String({ pattern: SYSTEM_ID_PATTERN }),
            days: Type.Optional(Type.Integer({ minimum: 1, maximum: 825 })),
            publicKeyPem: Type.Optional(Type.String({ minLength: 100, maxLength: 10_000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            serial: Type.String(),
            certPem: Type.String(),
            caPem: Type.String(),
            keyPem: Type.Optional(Type.String()),
            notBefore: Type.String({ format: 'date-time' }),
            notAfter: Type.String({ format: 'date-time' }),
            fingerprint256: Type.String(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const issued = await registry.issueCertificate(platform, certs, request.body, context.now());
      await request.auditAdmin('certificate.issue', {
        serial: issued.serial,
        dept: request.body.deptCode,
        system: request.body.systemId,
        keyGeneratedBy: issued.keyPem ? 'platform' : 'department',
      });
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({
        serial: issued.serial,
        certPem: issued.certPem,
        caPem: issued.caPem,
        ...(issued.keyPem ? { keyPem: issued.keyPem } : {}),
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        fingerprint256: issued.fingerprint256,
      });
    },
  );

  app.get(
    '/v1/certificates',
    {
      config: { access: ['security-admin', 'auditor', 'dept-admin'] },
      schema: {
        tags: ['identities'],
        description: "Certificates, in issue order. A dept-admin sees only its own department's.",
        querystring: Type.Object(
          { dept: Type.Optional(Type.String({ pattern: USCC_PATTERN })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ certificates: Type.Array(CertificateView) }), ...problemResponses },
      },
    },
    async (request) => {
      const person = personOf(request);
      const deptCode = person.role === 'dept-admin' ? person.dept : request.query.dept;
      if (person.role === 'dept-admin' && request.query.dept)
        requireOwnDepartment(person, request.query.dept);
      const list = await registry.listCertificates(certs, {
        ...(deptCode ? { deptCode } : {}),
        now: context.now(),
      });
      return { certificates: list.map(({ certPem: _pem, ...rest }) => rest) };
    },
  );

  app.post(
    '/v1/certificates/:serial/revoke',
    {
      config: { access: ['security-admin'] },
      schema: {
        tags: ['identities'],
        description:
          'Revoke a certificate. Every gateway instance refuses it within 2 s; the next CRL lists it.',
        params: Type.Object({ serial: Type.String({ pattern: SERIAL_PATTERN }) }),
        body: Type.Object({ reason: RevocationReason }, { additionalProperties: false }),
        response: { 200: CertificateView, ...problemResponses },
      },
    },
    async (request) => {
      const record = await registry.revokeCertificate(
        certs,
        request.params.serial,
        request.body.reason,
        context.now(),
      );
      await request.auditAdmin('certificate.revoke', { serial: record.serial, reason: request.body.reason });
      const { certPem: _pem, ...rest } = record;
      return { ...rest, effectiveStatus: registry.effectiveStatus(record, context.now()) };
    },
  );
};
