import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import type { CampaignState } from '../../campaigns/domain/campaign-state';
import { canonicalJson } from './hash-chain';
import { AuditFinding, CAMPAIGN_STREAM_PREFIX } from './findings';
import { StreamAudit, StreamAuditor } from './stream-audit';
import { CampaignSummary, summarizeCampaign } from './campaign-summary';

/**
 * An audit bundle: one campaign's whole stream in one file, checkable offline.
 *
 * JSON Lines, UTF-8, each line the canonical JSON (hash-chain.ts) of one object, each ended by "\n":
 *   line 1      the header: format, version, campaign, stream, exportedAt, store, exportedBy,
 *               and the workflow (id, version, sha-256 of the definition carried by CampaignLaunched)
 *   lines 2..n  the events as stored: id, type, revision, data, metadata (actor, time, prevHash, hash, …),
 *               position and recordedAt
 *   last line   {"manifest": {campaign, stream, events, firstRevision, lastRevision, headHash, linesSha256},
 *                "signature"?: {algorithm: "ed25519", keyId, publicKey, value}}
 * linesSha256 is the sha-256 of every byte before the manifest line; the signature, when present,
 * is Ed25519 over the canonical JSON of the manifest. Because every line must be canonical and every
 * manifest field is checked, changing any byte of the file fails verification.
 */
export const BUNDLE_FORMAT = 'docket-bundle';
export const BUNDLE_VERSION = 1;

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  campaign: string;
  stream: string;
  exportedAt: string;
  /** Which store the events were read from (sqlite, postgres, kurrentdb): informational. */
  store: string;
  exportedBy: string;
  workflow: { id: string; version: number; definitionSha256: string };
}

export interface BundleEvent {
  id: string;
  type: string;
  revision: number;
  data: unknown;
  metadata: Record<string, any>;
  position?: number;
  recordedAt?: string;
}

export interface BundleManifest {
  campaign: string;
  stream: string;
  events: number;
  firstRevision: number;
  lastRevision: number;
  headHash: string;
  linesSha256: string;
}

export interface BundleSignature {
  algorithm: 'ed25519';
  /** "sha256:" and the hex sha-256 of the public key (SPKI, DER). */
  keyId: string;
  /** The signer's public key, PEM (SPKI). Pin it with a key obtained another way to know who signed. */
  publicKey: string;
  /** base64 Ed25519 signature of the canonical JSON of the manifest. */
  value: string;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export const definitionSha256 = (definition: unknown) => sha256(canonicalJson(definition));

export function keyId(publicKey: KeyObject): string {
  return `sha256:${sha256(publicKey.export({ type: 'spki', format: 'der' }))}`;
}

/**
 * Writes a bundle line by line to a sink (a file, a buffer), so a long campaign is never held in memory.
 * The caller passes the events in revision order, starting with CampaignLaunched.
 */
export class BundleWriter {
  private readonly digest = createHash('sha256');
  private count = 0;
  private first?: BundleEvent;
  private last?: BundleEvent;
  private finished = false;

  constructor(
    private readonly sink: (chunk: string) => void,
    private readonly header: BundleHeader,
  ) {
    this.line(header);
  }

  /** The header for a campaign whose first event (CampaignLaunched) is given. */
  static header(launched: BundleEvent, info: { campaign: string; exportedAt: string; store: string; exportedBy: string }): BundleHeader {
    const workflow = (launched.data as { workflow?: { id?: unknown; version?: unknown } } | null)?.workflow;
    if (launched.type !== 'CampaignLaunched' || !workflow) throw new Error(`the first event of campaign ${info.campaign} is not a CampaignLaunched with a workflow`);
    return {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      campaign: info.campaign,
      stream: CAMPAIGN_STREAM_PREFIX + info.campaign,
      exportedAt: info.exportedAt,
      store: info.store,
      exportedBy: info.exportedBy,
      workflow: { id: String(workflow.id), version: Number(workflow.version), definitionSha256: definitionSha256(workflow) },
    };
  }

  add(event: BundleEvent): void {
    if (this.finished) throw new Error('the bundle is finished');
    const line: BundleEvent = { id: event.id, type: event.type, revision: event.revision, data: event.data, metadata: event.metadata };
    if (event.position !== undefined) line.position = event.position;
    if (event.recordedAt !== undefined) line.recordedAt = event.recordedAt;
    this.line(line);
    this.first ??= event;
    this.last = event;
    this.count += 1;
  }

  /** Writes the manifest (signed when a private key is given) and returns it. */
  finish(options: { signingKey?: KeyObject } = {}): { manifest: BundleManifest; signature?: BundleSignature } {
    if (!this.last || !this.first) throw new Error(`campaign ${this.header.campaign} has no events to export`);
    this.finished = true;
    const manifest: BundleManifest = {
      campaign: this.header.campaign,
      stream: this.header.stream,
      events: this.count,
      firstRevision: this.first.revision,
      lastRevision: this.last.revision,
      headHash: String(this.last.metadata?.hash),
      linesSha256: this.digest.digest('hex'),
    };
    let signature: BundleSignature | undefined;
    if (options.signingKey) {
      const key = options.signingKey;
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key must be an Ed25519 private key, not ${key.asymmetricKeyType ?? key.type}`);
      const pub = createPublicKey(key);
      signature = {
        algorithm: 'ed25519',
        keyId: keyId(pub),
        publicKey: String(pub.export({ type: 'spki', format: 'pem' })),
        value: sign(null, Buffer.from(canonicalJson(manifest)), key).toString('base64'),
      };
    }
    this.sink(canonicalJson(signature ? { manifest, signature } : { manifest }) + '\n');
    return { manifest, signature };
  }

  private line(value: unknown): void {
    const text = canonicalJson(value) + '\n';
    this.digest.update(text);
    this.sink(text);
  }
}

export interface BundleVerification {
  ok: boolean;
  campaign?: string;
  header?: BundleHeader;
  manifest?: BundleManifest;
  events: number;
  headHash?: string;
  signature: { present: boolean; verified: boolean; keyId?: string; pinned: boolean };
  findings: AuditFinding[];
  /** The replayed campaign, when the chain and the replay hold. */
  summary?: CampaignSummary;
}

const exactKeys = (value: unknown, required: string[], optional: string[] = []): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return required.every((k) => keys.includes(k)) && keys.every((k) => required.includes(k) || optional.includes(k));
};

const HEADER_KEYS = ['format', 'version', 'campaign', 'stream', 'exportedAt', 'store', 'exportedBy', 'workflow'];
const MANIFEST_KEYS = ['campaign', 'stream', 'events', 'firstRevision', 'lastRevision', 'headHash', 'linesSha256'];
const SIGNATURE_KEYS = ['algorithm', 'keyId', 'publicKey', 'value'];
const EVENT_KEYS = ['id', 'type', 'revision', 'data', 'metadata'];

/**
 * Checks a bundle with nothing but its bytes (and, to know who signed it, the signer's public key):
 * the format, the digest of every line, the manifest, the signature, the hash chain, and a replay
 * of the events through the domain's own evolve, with the definition the campaign was launched with.
 */
export function verifyBundle(bytes: Uint8Array, options: { publicKey?: KeyObject; onEvent?: () => void } = {}): BundleVerification {
  const findings: AuditFinding[] = [];
  const result: BundleVerification = { ok: false, events: 0, signature: { present: false, verified: false, pinned: options.publicKey !== undefined }, findings };
  const fail = (kind: AuditFinding['kind'], message: string, extra: Partial<AuditFinding> = {}) => {
    findings.push({ check: 'bundle', kind, message, ...extra });
    return result;
  };
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length === 0 || buffer[buffer.length - 1] !== 0x0a) return fail('malformed', 'the file does not end with a newline after the manifest: it is not a whole bundle');

  // Lines by byte offsets, so the digest is computed over exactly the bytes in the file.
  const starts: number[] = [0];
  for (let i = buffer.indexOf(0x0a); i !== -1 && i < buffer.length - 1; i = buffer.indexOf(0x0a, i + 1)) starts.push(i + 1);
  if (starts.length < 3) return fail('malformed', `a bundle has a header, at least one event and a manifest; this file has ${starts.length} line(s)`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const lineAt = (n: number): unknown => {
    const from = starts[n];
    const to = n + 1 < starts.length ? starts[n + 1] - 1 : buffer.length - 1;
    let text: string;
    try {
      text = decoder.decode(buffer.subarray(from, to));
    } catch {
      throw new BundleLineError(n, 'is not valid UTF-8');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new BundleLineError(n, 'is not JSON');
    }
    if (canonicalJson(value) !== text) throw new BundleLineError(n, 'is not in canonical form (sorted keys, no spaces): it was edited');
    return value;
  };

  try {
    const header = lineAt(0);
    if (!exactKeys(header, HEADER_KEYS) || header.format !== BUNDLE_FORMAT) return fail('malformed', `line 1 is not a ${BUNDLE_FORMAT} header`, { details: { line: 1 } });
    if (header.version !== BUNDLE_VERSION) return fail('malformed', `bundle version ${String(header.version)} is not supported (this docket reads version ${BUNDLE_VERSION})`, { details: { line: 1 } });
    const h = header as unknown as BundleHeader;
    if (typeof h.campaign !== 'string' || h.stream !== CAMPAIGN_STREAM_PREFIX + h.campaign || !exactKeys(h.workflow, ['id', 'version', 'definitionSha256'])) {
      return fail('malformed', 'line 1: the header does not name a campaign, its stream and its workflow', { details: { line: 1 } });
    }
    result.header = h;
    result.campaign = h.campaign;

    const last = starts.length - 1;
    const trailer = lineAt(last);
    if (!exactKeys(trailer, ['manifest'], ['signature']) || !exactKeys(trailer.manifest, MANIFEST_KEYS)) {
      return fail('malformed', `line ${last + 1}: the last line is not a manifest`, { details: { line: last + 1 } });
    }
    const manifest = trailer.manifest as unknown as BundleManifest;
    result.manifest = manifest;
    const fields = { campaign: h.campaign, stream: h.stream };
    if (manifest.campaign !== h.campaign || manifest.stream !== h.stream) {
      fail('mismatch', `the manifest names ${String(manifest.campaign)}, the header ${h.campaign}`, fields);
    }

    const digest = sha256(buffer.subarray(0, starts[last]));
    if (digest !== manifest.linesSha256) {
      fail('mismatch', `the content does not match the manifest: sha-256 of lines 1–${last} is ${digest}, the manifest says ${String(manifest.linesSha256)}`, {
        ...fields,
        details: { expected: manifest.linesSha256, found: digest },
      });
    }

    checkSignature(trailer.signature, manifest, options.publicKey, result, fail, fields);

    const auditor = new StreamAuditor(h.stream, { check: 'bundle', recordedRevision: typeof manifest.lastRevision === 'number' ? manifest.lastRevision : undefined });
    let first: BundleEvent | undefined;
    for (let n = 1; n < last; n++) {
      const e = lineAt(n);
      if (!exactKeys(e, EVENT_KEYS, ['position', 'recordedAt']) || typeof e.revision !== 'number' || typeof e.id !== 'string' || typeof e.type !== 'string') {
        return fail('malformed', `line ${n + 1} is not an event`, { ...fields, details: { line: n + 1 } });
      }
      const event = e as unknown as BundleEvent;
      first ??= event;
      auditor.push(event);
      options.onEvent?.();
    }
    const audit = auditor.finish();
    result.events = audit.events;
    result.headHash = audit.headHash;
    findings.push(...audit.findings);
    checkManifest(manifest, audit, fail, fields);
    if (first && first.type === 'CampaignLaunched') {
      const def = (first.data as { workflow?: unknown })?.workflow;
      if (definitionSha256(def) !== h.workflow.definitionSha256) {
        fail('mismatch', 'the header\'s workflow hash does not match the definition carried by CampaignLaunched', { ...fields, revision: first.revision, eventId: first.id });
      }
    }
    if (audit.state) result.summary = summarizeCampaign(audit.state as CampaignState);
  } catch (error) {
    if (error instanceof BundleLineError) return fail('malformed', `line ${error.line + 1} ${error.reason}`, { details: { line: error.line + 1 } });
    throw error;
  }
  result.ok = findings.length === 0;
  return result;
}

class BundleLineError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line + 1} ${reason}`);
  }
}

type Fail = (kind: AuditFinding['kind'], message: string, extra?: Partial<AuditFinding>) => unknown;

function checkManifest(manifest: BundleManifest, audit: StreamAudit, fail: Fail, fields: Partial<AuditFinding>) {
  if (manifest.events !== audit.events) fail('mismatch', `the manifest counts ${String(manifest.events)} events, the bundle holds ${audit.events}`, fields);
  if (manifest.firstRevision !== 0) fail('mismatch', `the manifest says the bundle starts at revision ${String(manifest.firstRevision)}; a bundle holds the whole stream from revision 0`, fields);
  if (audit.chainOk && manifest.headHash !== audit.headHash) {
    fail('mismatch', `the manifest's head hash ${String(manifest.headHash)} is not the head of the chain ${audit.headHash}`, { ...fields, details: { expected: manifest.headHash, found: audit.headHash } });
  }
}

function checkSignature(raw: unknown, manifest: BundleManifest, pinned: KeyObject | undefined, result: BundleVerification, fail: Fail, fields: Partial<AuditFinding>) {
  if (raw === undefined) {
    if (pinned) fail('signature', 'the bundle is not signed, but a public key was given to check its signature', fields);
    return;
  }
  result.signature.present = true;
  if (!exactKeys(raw, SIGNATURE_KEYS) || raw.algorithm !== 'ed25519' || typeof raw.publicKey !== 'string' || typeof raw.value !== 'string') {
    fail('malformed', 'the signature is not an Ed25519 signature with its public key', fields);
    return;
  }
  const sig = raw as unknown as BundleSignature;
  let embedded: KeyObject;
  try {
    embedded = createPublicKey(sig.publicKey);
  } catch {
    fail('signature', 'the public key in the signature cannot be read', fields);
    return;
  }
  const id = keyId(embedded);
  result.signature.keyId = id;
  // PEM's base64 has bits a decoder ignores; only the key's own encoding is accepted, so no byte of it can change.
  if (embedded.export({ type: 'spki', format: 'pem' }) !== sig.publicKey) {
    fail('signature', 'the public key in the signature is not in its canonical PEM encoding: it was edited', fields);
    return;
  }
  if (sig.keyId !== id) fail('signature', `the signature's keyId ${sig.keyId} is not the id ${id} of its public key`, fields);
  if (pinned && keyId(pinned) !== id) {
    fail('signature', `the bundle was signed by key ${id}, not by the given key ${keyId(pinned)}`, fields);
    return;
  }
  const value = Buffer.from(sig.value, 'base64');
  let valid = false;
  try {
    valid = value.toString('base64') === sig.value && verify(null, Buffer.from(canonicalJson(manifest)), pinned ?? embedded, value);
  } catch {
    valid = false;
  }
  if (!valid) {
    fail('signature', `the signature does not verify: the manifest was changed after signing, or the signature was`, fields);
    return;
  }
  result.signature.verified = true;
}
