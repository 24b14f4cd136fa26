/**
 * The HTTP bench's floor, run as its own process the way the service is run (node
 * --env-file=node-options.env): a bare Fastify (the same one Nest runs on) with one route doing
 * the same durable append of an equivalent DeliverableSubmitted event (same size, expected
 * revision) through the same SqliteEventStore.appendToStream (group commit included, on the
 * writer thread when the configuration puts it there, as it does by default; event ids made as
 * the service makes them), with no auth, no validation, no decide and no hash chain.
 *
 * Environment: DOCKET_DATA_DIR (the store's directory), DOCKET_SQLITE_SYNCHRONOUS, PORT, HOST.
 * Prints "listening on http://host:port" once it listens; closes on SIGTERM.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config';
import { sequentialEventId } from '../event-store/event-ids';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Fastify = require(require.resolve('fastify', { paths: [require.resolve('@nestjs/platform-fastify')] }));
  const config = loadConfig({ ...process.env, DOCKET_JWT_SECRET: 'floor-floor-floor-floor-floor-floor-floor!' }, resolve(__dirname, '../..'));
  const store = new SqliteEventStore({ filename: join(config.dataDir, 'docket.sqlite'), synchronous: config.sqliteSynchronous, writerThread: config.sqliteWriterThread });
  const server = Fastify({ logger: false });
  const revisions = new Map<string, number>();
  const actor = { sub: 'bench', role: 'bureau' };
  const prevHash = randomBytes(32).toString('hex');
  const hash = randomBytes(32).toString('hex');
  server.post('/api/campaigns/:id/submissions', async (req: any, reply: any) => {
    const id: string = req.params.id;
    const body = req.body as { unit: string; deliverable: string; title: string };
    // The expected revision is reserved at once (appends are committed in arrival order, a turn's
    // appends sharing one group commit), so concurrent requests to one stream need no lock here.
    const expected = revisions.get(id) ?? -1;
    revisions.set(id, expected + 1);
    const result = await store.appendToStream(
      `campaign-${id}`,
      [
        {
          id: sequentialEventId(), // the service's own ids (event-ids.ts)
          type: 'DeliverableSubmitted',
          data: { stage: 'learning', unit: body.unit, deliverable: body.deliverable, title: body.title, version: expected + 2 },
          metadata: { actor, occurredAt: new Date().toISOString(), correlationId: randomUUID(), prevHash, hash },
        },
      ],
      { expectedRevision: expected === -1 ? 'no_stream' : expected },
    );
    reply.code(201);
    return { campaign: id, stage: 'learning', unit: body.unit, deliverable: body.deliverable, status: 'submitted', version: expected + 2, revision: result.nextExpectedRevision };
  });
  const host = process.env.HOST ?? '127.0.0.1';
  await server.listen({ port: Number(process.env.PORT ?? 0), host });
  console.log(`listening on http://${host}:${(server.server.address() as AddressInfo).port}`);
  process.once('SIGTERM', () => {
    void (async () => {
      await server.close();
      await store.close();
      process.exit(0);
    })();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
