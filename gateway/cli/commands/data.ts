import { request } from 'undici';
import { runSimulatorCli } from '../../../connectors/simulator/cli.js';
import { type Command, parseFlags, required, UsageError } from '../command.js';
import { SIGNING_FLAGS, SIGNING_USAGE, signingIdentity } from '../signing-flags.js';

export const callCommand: Command = {
  name: 'call',
  summary: 'Make a signed call as a department system and verify the signed response',
  usage: `call METHOD URL ${SIGNING_USAGE} [--data JSON] [--repeat N] [--quiet] [--subject-id ID]`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, {
      ...SIGNING_FLAGS,
      data: { type: 'string' },
      // A portal's transparency query: the person's ID number, in a signed header rather than the URL.
      'subject-id': { type: 'string' },
      quiet: { type: 'boolean' },
      repeat: { type: 'string' },
    });
    const [method, url] = positionals;
    if (!method || !url)
      throw new UsageError(
        'METHOD and URL are required, e.g. govshare call GET http://127.0.0.1:8080/v1/data/...',
      );
    if (!/^(GET|POST)$/i.test(method)) throw new UsageError('METHOD must be GET or POST');
    let body: unknown;
    if (values.data !== undefined) {
      try {
        body = JSON.parse(values.data);
      } catch {
        throw new UsageError('--data must be JSON');
      }
    }
    const { client, identity } = signingIdentity(values);
    const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10)
      throw new UsageError('--repeat must be 1 to 10');
    const prepared = client.prepare({
      method: method.toUpperCase(),
      url,
      ...identity,
      ...(values['subject-id'] ? { subjectId: values['subject-id'] } : {}),
      ...(body === undefined ? {} : { body }),
    });
    let exit = 0;
    for (let i = 0; i < repeat; i++) {
      if (repeat > 1) io.err(`--- sending the same signed request (#${i + 1})`);
      const result = await client.send(prepared);
      const success = result.status >= 200 && result.status < 300;
      const signature = result.responseSignature;
      if (!values.quiet) {
        io.err(`HTTP ${result.status}  x-request-id: ${result.headers['x-request-id'] ?? '-'}`);
      }
      if (signature.verified) {
        if (!values.quiet) io.err(`response signature: verified (platform certificate ${signature.keyId})`);
      } else if (success || !values.quiet) {
        // Data whose signature does not verify is not proof of what was received: said even with --quiet.
        io.err(`response signature: not verified (${signature.reason})`);
      }
      io.out(result.json === undefined ? result.body.toString('utf8') : JSON.stringify(result.json, null, 2));
      if ((result.json as { code?: string } | undefined)?.code === 'USER_ID_REQUIRED') {
        io.err(
          'govshare call: pass --user-id with the official acting through this system (e.g. a staff number); ' +
            'it is signed and recorded in the audit trail',
        );
      }
      exit = !success ? 1 : signature.verified ? 0 : 3;
    }
    return exit;
  },
};

export const simulatorCommand: Command = {
  name: 'simulator',
  summary:
    'Run the front-end processor simulator (deterministic synthetic residents, enterprises, social insurance)',
  usage:
    'simulator [--host H] [--port P] [--residents N] [--enterprises N] [--social-insurance N] [--latency MS]',
  async run(argv, io) {
    const simulator = await runSimulatorCli(argv, { print: (line) => io.out(line) });
    return simulator ? -1 : 0;
  },
};

export const apiCommand: Command = {
  name: 'api',
  summary: 'Call the HTTP API as a person (bearer token), e.g. to create a grant; prints the JSON answer',
  usage: 'api METHOD URL --token JWT [--data JSON]',
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { token: { type: 'string' }, data: { type: 'string' } });
    const [method, url] = positionals;
    if (!method || !url) throw new UsageError('METHOD and URL are required');
    if (values.data !== undefined) {
      try {
        JSON.parse(values.data);
      } catch {
        throw new UsageError('--data must be JSON');
      }
    }
    const response = await request(url, {
      method: method.toUpperCase() as 'GET',
      headers: {
        authorization: `Bearer ${required(values, 'token')}`,
        ...(values.data !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(values.data !== undefined ? { body: values.data } : {}),
    });
    const text = await response.body.text();
    try {
      io.out(JSON.stringify(JSON.parse(text), null, 2));
    } catch {
      io.out(text);
    }
    if (response.statusCode >= 400) io.err(`HTTP ${response.statusCode}`);
    return response.statusCode < 400 ? 0 : 1;
  },
};
