/**
 * @module The operator's mail templates (`email.template_dir`, Synapse's Jinja files), without a Jinja engine: the
 * part of Jinja that Synapse's mails need, `{{ variable }}` (HTML-escaped in `.html` files, as Synapse's
 * autoescape does, as written in `.txt` files) and `{# comments #}`. Anything else (statements, filters, attribute
 * access, whitespace control, an unknown variable) is refused when the template is read, naming the file, the line
 * and the construct, so a template is never sent half-rendered. Parsing and rendering are pure; `readTemplateFile`
 * reads the directory at start-up. (The SSO mapping templates, sso-template.ts, are another subset: claims and
 * filters, no escaping.)
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** What Synapse gives its account mails (`push/mailer.py` `send_email`): the link, its server and app names. */
export const TEMPLATE_VARIABLES = ["link", "server_name", "app_name"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Record<TemplateVariable, string>;

type Part = { text: string } | { variable: TemplateVariable };

export interface MailTemplate {
  file: string;
  escape: boolean;
  parts: Part[];
}

export class MailTemplateError extends Error {
  override name = "MailTemplateError";
}

const isVariable = (name: string): name is TemplateVariable => (TEMPLATE_VARIABLES as readonly string[]).includes(name);

function lineAt(source: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

/** Shortened for the message: a construct may run over lines. */
function shown(construct: string): string {
  const flat = construct.replace(/\s+/g, " ");
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

/** Reads a template; `file` names it in errors and decides escaping (`.html`/`.htm` escape). */
export function parseMailTemplate(file: string, source: string): MailTemplate {
  const parts: Part[] = [];
  const fail = (index: number, what: string): never => {
    throw new MailTemplateError(`${file} line ${lineAt(source, index)}: ${what}`);
  };
  let pos = 0;
  const opener = /\{[{%#]/g;
  for (let m = opener.exec(source); m !== null; m = opener.exec(source)) {
    const start = m.index;
    const kind = m[0];
    const closer = kind === "{{" ? "}}" : kind === "{%" ? "%}" : "#}";
    const end = source.indexOf(closer, start + 2);
    if (end < 0) fail(start, `${kind} is never closed with ${closer}`);
    const construct = source.slice(start, end + 2);
    if (start > pos) parts.push({ text: source.slice(pos, start) });
    pos = end + 2;
    opener.lastIndex = pos;
    if (kind === "{#") continue;
    if (kind === "{%") fail(start, `the statement ${shown(construct)} is not supported (only {{ variable }})`);
    const name = source.slice(start + 2, end).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      fail(start, `the expression ${shown(construct)} is not supported (only {{ variable }})`);
    }
    if (!isVariable(name)) fail(start, `unknown variable ${name} (known: ${TEMPLATE_VARIABLES.join(", ")})`);
    parts.push({ variable: name as TemplateVariable });
  }
  // Jinja drops the template's final newline (`keep_trailing_newline` is off in Synapse's environment).
  const last = source.endsWith("\n") ? source.length - 1 : source.length;
  if (pos < last) parts.push({ text: source.slice(pos, last) });
  return { file, escape: /\.html?$/i.test(file), parts };
}

/** Markupsafe's escaping, which Synapse's autoescaped `.html` templates get. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderMailTemplate(template: MailTemplate, values: TemplateValues): string {
  return template.parts
    .map((p) => {
      if ("text" in p) return p.text;
      const value = values[p.variable];
      return template.escape ? escapeHtml(value) : value;
    })
    .join("");
}

/** A file of `email.template_dir`: null when it is not there; throws when the directory is not. */
export function readTemplateFile(dir: string, name: string): string | null {
  if (!existsSync(resolve(dir)) || !statSync(resolve(dir)).isDirectory()) throw new Error(`no directory ${dir}`);
  const path = join(resolve(dir), name);
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}
