import { migrate, SqlDb } from '../projections/sql-db';
import type { CampaignSnapshot } from './domain/campaign-snapshot';

export const CAMPAIGN_SNAPSHOTS = Symbol('CAMPAIGN_SNAPSHOTS');

/** Where folded campaign states are kept between runs, so a load folds only the events after them. */
export interface SnapshotStore {
  get(campaignId: string): Promise<CampaignSnapshot | null>;
  /** Keeps one snapshot per campaign: the last one written (any valid snapshot will do). */
  put(snapshot: CampaignSnapshot): Promise<void>;
}

/**
 * Snapshots in the read-model database (an SQLite file beside the log, or the PostgreSQL
 * schema). Like the read models they are disposable: the log stays the only truth, a
 * snapshot is used only while the log still holds the event whose hash it names, and the
 * audit never reads them.
 */
export class SqlSnapshotStore implements SnapshotStore {
  private ready?: Promise<void>;

  constructor(private readonly db: SqlDb) {}

  private migrate(): Promise<void> {
    this.ready ??= (async () => {
      await migrate(this.db, [
        `CREATE TABLE IF NOT EXISTS campaign_snapshots (
           campaign_id TEXT PRIMARY KEY,
           revision    INTEGER NOT NULL,
           last_hash   TEXT NOT NULL,
           format      INTEGER NOT NULL,
           state       TEXT NOT NULL
         )`,
      ]);
    })().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  async get(campaignId: string): Promise<CampaignSnapshot | null> {
    await this.migrate();
    const [row] = await this.db.all<{ revision: number | string; last_hash: string; format: number | string; state: string }>(
      'SELECT revision, last_hash, format, state FROM campaign_snapshots WHERE campaign_id = ?',
      [campaignId],
    );
    return row ? { campaignId, revision: Number(row.revision), lastHash: row.last_hash, format: Number(row.format), state: row.state } : null;
  }

  /** Every snapshot, by campaign id (none when the table was never created: it is not created by reading). */
  async list(): Promise<CampaignSnapshot[]> {
    try {
      const rows = await this.db.all<{ campaign_id: string; revision: number | string; last_hash: string; format: number | string; state: string }>(
        'SELECT campaign_id, revision, last_hash, format, state FROM campaign_snapshots ORDER BY campaign_id',
      );
      return rows.map((r) => ({ campaignId: r.campaign_id, revision: Number(r.revision), lastHash: r.last_hash, format: Number(r.format), state: r.state }));
    } catch (e) {
      if (/no such table|does not exist/.test((e as Error).message)) return [];
      throw e;
    }
  }

  async put(s: CampaignSnapshot): Promise<void> {
    await this.migrate();
    await this.db.run(
      `INSERT INTO campaign_snapshots (campaign_id, revision, last_hash, format, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (campaign_id) DO UPDATE SET revision = excluded.revision, last_hash = excluded.last_hash, format = excluded.format, state = excluded.state`,
      [s.campaignId, s.revision, s.lastHash, s.format, s.state],
    );
  }
}
