import type { LocalizedText, WorkflowDefinition } from '../workflows/domain/workflow-definition';
import { stageOf } from '../campaigns/domain/campaign-state';

/** One formatter per time zone: building an Intl.DateTimeFormat costs far more than formatting with it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Formats an instant for people in the bureau's timezone: 2013-10-31 10:00. */
export function localTime(iso: string, timeZone: string): string {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

export interface ReminderFacts {
  unit: string;
  level: string;
  deadline: string;
  deliverables: { id: string; status: string }[];
}

export interface ReminderText {
  /** The deadline in the bureau's timezone, with the zone: "2013-10-10 08:00 (Asia/Shanghai)". */
  deadlineLocal: string;
  deliverables: { id: string; status: string; title: LocalizedText }[];
  message: LocalizedText;
}

/** The titles a reminder names: its stage's and its deliverables', from the definition the campaign was launched with. */
export interface ReminderTitles {
  stage: LocalizedText;
  deliverables: Record<string, LocalizedText>;
}

export function reminderTitles(def: WorkflowDefinition, stageId: string): ReminderTitles {
  const stage = stageOf(def, stageId);
  return { stage: stage.title, deliverables: Object.fromEntries((stage.deliverables ?? []).map((d) => [d.id, d.title])) };
}

/**
 * What a reminder says to people, in Chinese and English, with times in the bureau's
 * timezone: the inbox, webhooks and e-mails all use this one wording.
 */
export function reminderText(r: ReminderFacts, titles: ReminderTitles, timeZone: string): ReminderText {
  const deliverables = r.deliverables.map((d) => ({ ...d, title: titles.deliverables[d.id] ?? { zh: d.id, en: d.id } }));
  const local = localTime(r.deadline, timeZone);
  const zhWhat = deliverables.map((d) => d.title.zh).join('、');
  const enWhat = deliverables.map((d) => d.title.en).join(', ');
  const message =
    r.level === 'escalation'
      ? { zh: `${r.unit} 逾期未提交${zhWhat}（截止 ${local}），已报领导小组。`, en: `${r.unit} has not submitted ${enWhat} (due ${local}); escalated to the leading group.` }
      : r.level === 'before'
        ? { zh: `请于 ${local} 前提交${zhWhat}。`, en: `Please submit ${enWhat} by ${local}.` }
        : { zh: `${zhWhat}已于 ${local} 到期，请尽快提交。`, en: `${enWhat} was due ${local}; please submit it now.` };
  return { deadlineLocal: `${local} (${timeZone})`, deliverables, message };
}
