import type { Subject } from './domain/evaluation-events';
import type { Tally } from './domain/tally';

/** A cell as CSV: quoted when needed; text that a spreadsheet would run as a formula is defused with a leading '. */
function cell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The published tally as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
 * the Chinese names): one row per subject and voter group, then the subject's row for all
 * groups together (group "all", score weighted).
 */
export function tallyCsv(tally: Tally, subjects: Subject[]): string {
  const header = ['subject', 'subject_name', 'group', 'weight', 'issued', 'cast', 'turnout', 'votes', ...tally.grades, 'score', 'excellent_share', 'incompetent_share'];
  const rows: (string | number | null)[][] = [header];
  const names = new Map(subjects.map((s) => [s.id, s.name]));
  const groups = new Map(tally.groups.map((g) => [g.id, g]));
  for (const s of tally.subjects) {
    for (const g of s.groups) {
      const meta = groups.get(g.id)!;
      rows.push([s.id, names.get(s.id) ?? s.name, g.id, meta.weight, meta.issued, meta.cast, meta.turnout, g.votes, ...tally.grades.map((k) => g.counts[k]), g.score, g.excellentShare, g.incompetentShare]);
    }
    rows.push([s.id, names.get(s.id) ?? s.name, 'all', null, tally.issued, tally.cast, tally.turnout, s.votes, ...tally.grades.map((k) => s.counts[k]), s.score, s.excellentShare, s.incompetentShare]);
  }
  return '\ufeff' + rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
