import t from 'tap';
import { connectorErrorDocs, connectorErrors, providerError } from '../../connectors/errors.js';
import { HttpConnectorFactory } from '../../connectors/http-connector.js';
import { ConnectorRegistry } from '../../connectors/registry.js';
import { startSimulator } from '../../connectors/simulator/server.js';

t.test('one connector per service definition; unknown kinds are a configuration error', async (t) => {
  const sim = await startSimulator({ datasets: { residents: 10, enterprises: 10, socialInsurance: 10 } });
  t.teardown(() => sim.close());
  const registry = new ConnectorRegistry({ http: new HttpConnectorFactory() });
  const residents = { connector: 'http', endpoint: sim.endpoint('residents') } as const;
  const first = registry.get(residents);
  t.equal(registry.get({ ...residents }), first, 'same definition, same connector');
  t.not(registry.get({ ...residents, timeoutMs: 1000 }), first, 'another timeout, another connector');
  t.not(registry.get({ connector: 'http', endpoint: sim.endpoint('enterprises') }), first);
  t.throws(() => registry.get({ connector: 'sql', endpoint: 'provider-db', table: 'people' }), {
    code: 'CONNECTOR_CONFIG_INVALID',
    message: /connector kind "sql" is not configured/,
  });

  t.equal((await first.page({ limit: 3 })).rows.length, 3);
  const status = registry.status();
  t.equal(status.length, 3);
  t.same(status[0], {
    kind: 'http',
    endpoint: sim.endpoint('residents'),
    circuit: {
      state: 'closed',
      consecutiveFailures: 0,
      windowRequests: 1,
      windowFailures: 0,
      opened: 0,
      retryAfterMs: 0,
    },
  });

  await registry.close();
  t.throws(() => registry.get(residents), { code: 'CONNECTOR_CONFIG_INVALID' });
});

t.test('every error code is documented and says where it arose', async (t) => {
  t.same(Object.keys(connectorErrorDocs).sort(), Object.keys(connectorErrors).sort());
  for (const [code, Ctor] of Object.entries(connectorErrors)) {
    const error = new Ctor('x');
    t.equal(error.code, code);
    t.ok(error.statusCode && error.statusCode >= 500, `${code} is a 5xx`);
    t.ok(connectorErrorDocs[code as keyof typeof connectorErrorDocs].length > 20, `${code} documented`);
  }
  const open = providerError('UPSTREAM_CIRCUIT_OPEN', 'fep.example:8443', 'circuit open', {
    retryAfterSeconds: 7,
  });
  t.match(open, {
    code: 'UPSTREAM_CIRCUIT_OPEN',
    statusCode: 503,
    source: 'provider',
    providerHost: 'fep.example:8443',
    retryAfterSeconds: 7,
    message: 'provider fep.example:8443: circuit open',
  });
  t.ok(open instanceof connectorErrors.UPSTREAM_CIRCUIT_OPEN);
});
