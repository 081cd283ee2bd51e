import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config.js';
import { headerSafe } from './escape.js';

export interface OutgoingEmail {
  emailId: string;
  to: { name: string; address: string };
  /** The From display name (the agency's sender name); the address is always MAIL_FROM. */
  fromName: string;
  subject: string;
  html: string;
  text: string;
}

export interface SentEmail {
  messageId: string;
  /** Outbox mode: the .eml file written. */
  file?: string;
}

export interface Mailer {
  mode: 'smtp' | 'outbox';
  /** For logs and the dev mailbox: where mail goes, never with credentials. */
  destination: string;
  send(message: OutgoingEmail): Promise<SentEmail>;
  close(): void;
}

export const outboxDir = (config: Pick<Config, 'dataDir'>): string => join(config.dataDir, 'outbox');

/** `<compact UTC time>-<email id>.eml`: names sort by time, and the id ties a file to its `emails` row. */
export const OUTBOX_FILE = /^(\d{8}T\d{9}Z)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.eml$/;
export function outboxFileName(emailId: string, at: Date): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${emailId}.eml`;
}

/** Message-ID derived from the email id: a re-send after a crash carries the same id, so clients can fold it. */
export function messageIdFor(emailId: string, mailFrom: string): string {
  const domain = mailFrom.split('@')[1] ?? 'onramp.invalid';
  return `<${emailId}@${domain}>`;
}

/** Where SMTP_URL points, without user or password. */
export function describeSmtpUrl(smtpUrl: string): string {
  const u = new URL(smtpUrl);
  return `${u.protocol}//${u.host}`;
}

/**
 * SMTP_URL set: a pooled SMTP transport (smtp:// uses STARTTLS only when the server offers it, so a plain
 * local server works; smtps:// is TLS from the first byte). Unset: the outbox, one .eml file per email
 * under DATA_DIR/outbox, which the dev mailbox pages list.
 */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'dataDir'>): Mailer {
  const mailOptions = (m: OutgoingEmail) => ({
    from: { name: headerSafe(m.fromName), address: config.mailFrom },
    to: { name: headerSafe(m.to.name), address: m.to.address },
    subject: headerSafe(m.subject, 250),
    text: m.text,
    html: m.html,
    messageId: messageIdFor(m.emailId, config.mailFrom),
    headers: { 'X-Onramp-Email-Id': m.emailId, 'Auto-Submitted': 'auto-generated' },
    // Only the one recipient, whatever a header might say.
    envelope: { from: config.mailFrom, to: [m.to.address] },
  });

  if (config.smtpUrl) {
    const u = new URL(config.smtpUrl);
    const options: SMTPPool.Options = {
      pool: true,
      maxConnections: 5,
      host: u.hostname,
      secure: u.protocol === 'smtps:',
      // Bounded, so a hung server turns into a retry rather than a job holding its lock forever; the
      // `sending` lease in the processor is longer than all of these together.
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
      ...(u.port ? { port: Number(u.port) } : {}),
      ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
    };
    const transport = nodemailer.createTransport(options);
    return {
      mode: 'smtp',
      destination: describeSmtpUrl(config.smtpUrl),
      async send(m) {
        const info = await transport.sendMail(mailOptions(m));
        return { messageId: info.messageId };
      },
      close: () => transport.close(),
    };
  }

  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const dir = outboxDir(config);
  let made: Promise<unknown> | undefined;
  return {
    mode: 'outbox',
    destination: dir,
    async send(m) {
      const info = await transport.sendMail(mailOptions(m));
      const name = outboxFileName(m.emailId, new Date());
      const tmp = join(dir, `.${name}.tmp`);
      // The folder is made once, and again only if someone removed it while Onramp runs.
      made ??= mkdir(dir, { recursive: true });
      await made;
      // Write then rename: the mailbox never lists a half-written file.
      await writeFile(tmp, info.message as Buffer).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        made = mkdir(dir, { recursive: true });
        await made;
        await writeFile(tmp, info.message as Buffer);
      });
      await rename(tmp, join(dir, name));
      return { messageId: info.messageId, file: name };
    },
    close: () => transport.close(),
  };
}
