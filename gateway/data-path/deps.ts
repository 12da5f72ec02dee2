import type { GatewayContext } from '../app/context.js';
import type { DataPathDeps } from './serve.js';

export function dataPathDeps(context: GatewayContext, callTally?: DataPathDeps['callTally']): DataPathDeps {
  return {
    resources: context.resources,
    grants: context.grantCache,
    admission: context.admission,
    connectors: context.connectors,
    audit: context.audit,
    subjectSecret: context.platform.subjectHmacKey,
    signing: {
      signer: context.platform.platformSigner,
      keyId: context.platform.signingCertX509.serialNumber.toLowerCase(),
    },
    now: context.now,
    useTerms: {
      acceptedVersion: (dept, resource, current) => context.useTerms.acceptedVersion(dept, resource, current),
      required: context.config.GOVSHARE_REQUIRE_USE_TERMS,
    },
    machineCallsAllowed: context.config.GOVSHARE_MACHINE_CALLS,
    department: (code) => context.certs.getDepartment(code),
    observe: (step, seconds) => context.metrics.steps.observe({ step }, seconds),
    ...(callTally ? { callTally } : {}),
  };
}
