import t from 'tap';
import { request } from 'undici';
import { runSimulatorCli } from '../../../connectors/simulator/cli.js';

t.test('starts, prints the data set endpoints, and closes', async (t) => {
  const lines: string[] = [];
  const handlers = process.listenerCount('SIGINT');
  const sim = await runSimulatorCli(
    ['--port', '0', '--residents', '25', '--enterprises', '5', '--social-insurance', '3'],
    {
      print: (line) => lines.push(line),
    },
  );
  t.ok(sim);
  t.teardown(() => sim?.close());
  t.match(lines[0], /^simulator listening on http:\/\/127\.0\.0\.1:[0-9]+$/);
  t.ok(lines.some((l) => l.includes(`${sim!.url}/datasets/residents`) && l.includes(' 25 rows')));
  t.ok(lines.some((l) => l.includes(`${sim!.url}/datasets/social-insurance`) && l.includes(' 3 rows')));
  const health = await request(`${sim!.endpoint('enterprises')}/health`);
  t.same(await health.body.json(), { status: 'ok', size: 5 });
  t.equal(process.listenerCount('SIGINT'), handlers + 1, 'Ctrl-C closes it');
  await sim!.close();
  t.equal(process.listenerCount('SIGINT'), handlers, 'close removes the signal handler');
});

t.test('--help prints usage and starts nothing', async (t) => {
  const lines: string[] = [];
  t.equal(await runSimulatorCli(['--help'], { print: (line) => lines.push(line) }), undefined);
  t.match(lines.join('\n'), /--residents N/);
});

t.test('bad arguments say what to fix', async (t) => {
  const io = { print: () => undefined };
  await t.rejects(runSimulatorCli(['--residents', 'many'], io), /--residents must be a whole number/);
  await t.rejects(runSimulatorCli(['--port', '70000'], io), /--port must be a whole number from 0 to 65535/);
  await t.rejects(runSimulatorCli(['--colour', 'red'], io), /Unknown option '--colour'/);
});
