/**
 * The operator's mail templates (`email.template_dir`): the Jinja subset rendered exactly (variables, HTML escaping in
 * `.html` only, comments, the final newline), everything else refused at start-up naming file, line and construct,
 * and a file that is not there leaving Gatehouse's text in place.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MailTemplateError, parseMailTemplate, renderMailTemplate } from "../../src/config/mail-template.js";
import { ConfigError } from "../../src/config/validate.js";
import { createTestDatabase, tempDir } from "../helpers/databases.js";
import { configFrom, rawConfigFor } from "../helpers/server.js";

const VALUES = {
  link: "https://m.example.org/submit?token=a&sid=<b>",
  server_name: "example.org",
  app_name: `Tom & "Jerry's"`,
};

describe("parseMailTemplate and renderMailTemplate", () => {
  it("fills variables, escaping them in .html as Synapse's autoescape does and not in .txt", () => {
    const source = `<a href="{{ link }}">{{link}}</a> {{  app_name }} on {{ server_name }} & more\n`;
    expect(renderMailTemplate(parseMailTemplate("registration.html", source), VALUES)).toBe(
      `<a href="https://m.example.org/submit?token=a&#38;sid=&#60;b&#62;">` +
        `https://m.example.org/submit?token=a&#38;sid=&#60;b&#62;</a> Tom &#38; &#34;Jerry&#39;s&#34; on example.org & more`,
    );
    expect(
      renderMailTemplate(parseMailTemplate("registration.txt", "Open {{ link }}\n\nThanks, {{ app_name }}\n"), VALUES),
    ).toBe(`Open https://m.example.org/submit?token=a&sid=<b>\n\nThanks, Tom & "Jerry's"`);
  });

  it("drops comments and only the final newline, as Jinja does; text without tags is kept as it is", () => {
    const t = parseMailTemplate("password_reset.txt", "{# a note for the operator #}Reset: {{ link }}\n\n");
    expect(renderMailTemplate(t, VALUES)).toBe("Reset: https://m.example.org/submit?token=a&sid=<b>\n");
    expect(renderMailTemplate(parseMailTemplate("x.txt", "plain { braces } only"), VALUES)).toBe(
      "plain { braces } only",
    );
  });

  it("refuses every construct it does not render, naming the file, the line and the construct", () => {
    const refused = (file: string, source: string) => {
      try {
        parseMailTemplate(file, source);
      } catch (err) {
        expect(err).toBeInstanceOf(MailTemplateError);
        return (err as Error).message;
      }
      throw new Error(`${source} was accepted`);
    };
    expect(refused("registration.html", `{% extends "_base.html" %}\n{% block body %}x{% endblock %}`)).toBe(
      `registration.html line 1: the statement {% extends "_base.html" %} is not supported (only {{ variable }})`,
    );
    expect(refused("add_threepid.txt", "Hello\n\n{% if app_name %}x{% endif %}")).toMatch(
      /^add_threepid\.txt line 3: the statement \{% if app_name %\}/,
    );
    expect(refused("a.html", "{{ link | safe }}")).toBe(
      "a.html line 1: the expression {{ link | safe }} is not supported (only {{ variable }})",
    );
    expect(refused("a.html", "{{- link }}")).toMatch(/the expression \{\{- link \}\} is not supported/);
    expect(refused("a.html", "{{ user.name }}")).toMatch(/the expression \{\{ user\.name \}\} is not supported/);
    expect(refused("a.txt", "\n{{ unsubscribe_link }}")).toBe(
      "a.txt line 2: unknown variable unsubscribe_link (known: link, server_name, app_name)",
    );
    expect(refused("a.txt", "see {{ link ")).toBe("a.txt line 1: {{ is never closed with }}");
    expect(refused("a.txt", "{# never closed")).toBe("a.txt line 1: {# is never closed with #}");
  });
});

describe("email.template_dir in the configuration", () => {
  const email = { smtp_host: "127.0.0.1", notif_from: "Gatehouse <noreply@example.org>" };
  const load = async (templateDir: string) =>
    configFrom(
      rawConfigFor(await createTestDatabase("sqlite", { empty: true }), {
        public_baseurl: "https://m.example.org/",
        email: { ...email, template_dir: templateDir },
      }),
    );

  it("reads the files that are there; the others stay null (Gatehouse's text)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "registration.txt"), "Confirm: {{ link }}\n");
    writeFileSync(join(dir, "password_reset.html"), "<p>{{ link }}</p>");
    const templates = (await load(dir)).email!.templates;
    expect(templates.registration.text?.file).toBe("registration.txt");
    expect(templates.registration.html).toBeNull();
    expect(templates.password_reset.html?.file).toBe("password_reset.html");
    expect(templates.add_threepid).toEqual({ html: null, text: null });
    expect(templates.registration_invite).toEqual({ html: null, text: null });
  });

  it("refuses to start with a template it cannot render, or a directory that is not there", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "add_threepid.html"), `{% extends "_base.html" %}`);
    const bad = await load(dir).catch((err: unknown) => err);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).problems.map((p) => `${p.key}: ${p.message}`)).toEqual([
      `email.template_dir: add_threepid.html line 1: the statement {% extends "_base.html" %} is not supported (only {{ variable }})`,
    ]);
    const missing = join(dir, "nowhere");
    const gone = await load(missing).catch((err: unknown) => err);
    expect((gone as ConfigError).problems.map((p) => p.key)).toEqual(["email.template_dir"]);
    expect((gone as ConfigError).problems[0]!.message).toBe(`registration.html: no directory ${missing}`);
    mkdirSync(join(dir, "empty"));
    expect((await load(join(dir, "empty"))).email!.templates.registration).toEqual({ html: null, text: null });
  });
});
