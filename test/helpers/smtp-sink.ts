/**
 * A real SMTP server on loopback that keeps what it receives (npm `smtp-server`, parsed with `mailparser`): start it
 * once per file in `beforeAll`. `stop()` and `start()` take it down and bring it back on the same port, for the
 * outage tests.
 */
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  /** The SMTP envelope's recipients (what the server was told to deliver to, whatever the headers say). */
  rcptTo: string[];
  mailFrom: string;
  parsed: ParsedMail;
  /** The header block exactly as received. */
  rawHeaders: string;
}

export interface SmtpSink {
  port: number;
  mails: ReceivedMail[];
  /** Waits for a mail to `to` that arrived after `after` (an index into `mails`), and returns it. */
  next(to: string, after?: number, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
  /** Listens again on the same port; nothing if it is listening already. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function newServer(mails: ReceivedMail[]): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            const text = raw.toString("utf8");
            mails.push({
              rcptTo: session.envelope.rcptTo.map((a) => a.address),
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              parsed,
              rawHeaders: text.slice(0, text.indexOf("\r\n\r\n")),
            });
            callback();
          })
          .catch((err: unknown) => callback(err as Error));
      });
    },
  });
}

function listen(server: SMTPServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = (server as unknown as { server: { address(): { port: number } } }).server.address();
      resolve(address.port);
    });
  });
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  let server: SMTPServer | null = newServer(mails);
  const port = await listen(server, 0);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) {
        resolve();
        return;
      }
      server.close(() => resolve());
      server = null;
    });
  return {
    port,
    mails,
    async next(to, after = 0, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = mails.slice(after).find((m) => m.rcptTo.includes(to));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop,
    async start() {
      if (server) return;
      const fresh = newServer(mails);
      await listen(fresh, port);
      server = fresh;
    },
    close: stop,
  };
}

/** The first link in a mail's text that starts with `prefix`. */
export function linkIn(mail: ReceivedMail, prefix: string): string {
  const text = mail.parsed.text ?? "";
  const m = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\S+`).exec(text);
  if (!m) throw new Error(`no link starting ${prefix} in:\n${text}`);
  return m[0];
}
