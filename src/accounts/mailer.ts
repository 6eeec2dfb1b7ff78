/**
 * @module Sending one mail over SMTP with nodemailer, as Synapse's `email:` section describes the server. Only the
 * outbox job (src/jobs/email.ts) sends; requests write to the outbox instead (src/accounts/email-outbox.ts).
 *
 * No header is ever built from text that could hold a line break: the recipient is a canonical address (which has
 * no whitespace at all), and display names and subjects go through `headerText`, so nothing a user or an operator
 * typed can start a header of its own.
 */
import type { Transporter } from "nodemailer";
import type { EmailConfig } from "../config/schema.js";
import { canonicalEmail } from "../shared/email.js";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the mail; rejects with its refusal or the connection's failure. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** Text for a header: line breaks (and other control characters) become spaces. */
export function headerText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
}

/**
 * nodemailer is loaded, and the transport made, by the first mail: most processes (every CLI, a worker, a server
 * whose outbox is empty) never send one, and loading it is a twentieth of a start's CPU.
 */
export function smtpMailer(email: EmailConfig): Mailer {
  let transport: Promise<Transporter> | undefined;
  const transportOf = () =>
    (transport ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: email.smtp_host,
        port: email.smtp_port,
        secure: email.force_tls,
        ignoreTLS: !email.enable_tls,
        requireTLS: email.require_transport_security,
        ...(email.smtp_user !== null ? { auth: { user: email.smtp_user, pass: email.smtp_pass ?? "" } } : {}),
        ...(email.tlsname !== null ? { tls: { servername: email.tlsname } } : {}),
        // A stalled server fails this attempt; the outbox tries again later.
        connectionTimeout: 15_000,
        greetingTimeout: 15_000,
        socketTimeout: 60_000,
      }),
    ));
  return {
    async send(m) {
      const to = canonicalEmail(m.to);
      if (to === null) throw new Error("the recipient is not an e-mail address");
      await (
        await transportOf()
      ).sendMail({
        from: { name: headerText(email.notif_from.name), address: email.notif_from.address },
        to: { name: "", address: to },
        subject: headerText(m.subject),
        text: m.text,
        ...(m.html !== null ? { html: m.html } : {}),
        // Addresses are taken as given: never read from the body or headers.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    },
    close() {
      void transport?.then((t) => t.close());
    },
  };
}
