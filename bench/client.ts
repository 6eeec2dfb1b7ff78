/**
 * A lean HTTP client for the room benchmarks: node:http with kept-alive connections, as many as asked, so 200
 * long-polls and the sends beside them each hold their own and the client costs the shared cores little.
 */
import { Agent, request } from "node:http";

export class BenchClient {
  private readonly agent: Agent;

  constructor(
    readonly base: string,
    connections: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  /**
   * The response's JSON; any status but 200 throws. `signal` ends a held request. A connection the server closed
   * as it was reused is retried: every call the benchmarks make may be repeated (sends carry a transaction ID).
   */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, token, body, signal);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (signal?.aborted || attempt === 3 || (code !== "ECONNRESET" && code !== "EPIPE")) throw err;
      }
    }
  }

  private once<T>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        `${this.base}${path}`,
        {
          method,
          agent: this.agent,
          signal,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload !== undefined
              ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text) as T);
          });
          res.on("error", reject);
        },
      );
      req.on("error", (err: Error & { code?: string }) =>
        reject(
          signal?.aborted ? err : Object.assign(new Error(`${method} ${path}: ${err.message}`), { code: err.code }),
        ),
      );
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
