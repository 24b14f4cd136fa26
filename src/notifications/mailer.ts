import type { Transporter } from 'nodemailer';
import type { DeliveryConfig } from '../config/config';

/** The notifier port for e-mail: one message, sent or an error. */
export const MAILER = Symbol('MAILER');

export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  /** Stable per delivery (the delivery id), so a resent message is recognisably the same one. */
  messageId: string;
  headers: Record<string, string>;
}

export interface Mailer {
  /** False when no SMTP server is configured: e-mail rows are then skipped, not retried. */
  readonly configured: boolean;
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

/** An SMTP error the server gave as permanent (5xx): retrying the same message cannot help. */
export class PermanentMailError extends Error {}

/**
 * E-mail over SMTP (DOCKET_SMTP_URL, DOCKET_MAIL_FROM), through nodemailer. nodemailer is
 * required on the first message, so a service without e-mail never loads it (memory).
 */
export class SmtpMailer implements Mailer {
  private transport?: Transporter;

  constructor(private readonly config: Pick<DeliveryConfig, 'smtpUrl' | 'mailFrom' | 'timeoutMs'>) {}

  get configured(): boolean {
    return Boolean(this.config.smtpUrl);
  }

  async send(m: MailMessage): Promise<void> {
    if (!this.config.smtpUrl) throw new Error('e-mail is not configured (DOCKET_SMTP_URL)');
    const t = this.config.timeoutMs;
    if (!this.transport) {
      const { createTransport } = require('nodemailer') as typeof import('nodemailer');
      this.transport = createTransport(this.config.smtpUrl, { connectionTimeout: t, greetingTimeout: t, socketTimeout: t });
    }
    try {
      await this.transport.sendMail({ from: this.config.mailFrom, to: m.to, subject: m.subject, text: m.text, messageId: m.messageId, headers: m.headers });
    } catch (e) {
      const code = Number((e as { responseCode?: number }).responseCode);
      if (code >= 500 && code < 600) throw new PermanentMailError((e as Error).message);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.transport?.close();
  }
}
