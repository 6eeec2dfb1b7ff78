/**
 * @module The mails Gatehouse sends, as text and HTML: address validation, password reset and the invitation of a
 * registration token bound to an address. Subjects come from `email.subjects`; everything put into HTML is escaped.
 * The operator's templates (`email.template_dir`, Synapse's file names) replace the text or HTML part they name.
 */
import { renderMailTemplate } from "../config/mail-template.js";
import type { EmailConfig, MailTemplateName } from "../config/schema.js";
import type { MailMessage } from "./mailer.js";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fill(template: string, serverName: string, email: EmailConfig): string {
  return template.replaceAll("%(server_name)s", serverName).replaceAll("%(app)s", email.app_name);
}

/** Gatehouse's text, each part replaced by the operator's template from `email.template_dir` where there is one. */
function mail(
  to: string,
  subject: string,
  lines: string[],
  link: string,
  template: MailTemplateName,
  serverName: string,
  email: EmailConfig,
): MailMessage {
  const { html: htmlTemplate, text: textTemplate } = email.templates[template];
  const values = { link, server_name: serverName, app_name: email.app_name };
  const text = textTemplate ? renderMailTemplate(textTemplate, values) : [...lines, "", link, ""].join("\n");
  const html = htmlTemplate
    ? renderMailTemplate(htmlTemplate, values)
    : `<!doctype html><html><body>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join("")}` +
      `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p></body></html>`;
  return { to, subject, text, html };
}

export type ValidationMailKind = "register" | "add" | "reset";

export function validationMail(
  kind: ValidationMailKind,
  to: string,
  link: string,
  serverName: string,
  email: EmailConfig,
): MailMessage {
  if (kind === "reset") {
    return mail(
      to,
      fill(email.subjects.password_reset, serverName, email),
      [
        `A password reset was requested for your account on ${serverName}.`,
        "To choose a new password, open this link and confirm. If you did not ask for this, ignore this mail: " +
          "your password stays as it is.",
      ],
      link,
      "password_reset",
      serverName,
      email,
    );
  }
  return mail(
    to,
    fill(email.subjects.email_validation, serverName, email),
    [
      kind === "register"
        ? `You asked to register an account on ${serverName} with this e-mail address.`
        : `You asked to add this e-mail address to your account on ${serverName}.`,
      "To confirm it, open this link. If you did not ask for this, ignore this mail.",
    ],
    link,
    kind === "register" ? "registration" : "add_threepid",
    serverName,
    email,
  );
}

export function invitationMail(to: string, link: string, serverName: string, email: EmailConfig): MailMessage {
  return mail(
    to,
    fill(email.subjects.registration_invite, serverName, email),
    [
      `You are invited to create an account on ${serverName} (${email.app_name}).`,
      "Open this link to sign up; the invitation is for this e-mail address, which you will be asked to confirm.",
    ],
    link,
    "registration_invite",
    serverName,
    email,
  );
}
