import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import path from "node:path";
import type { ZgChain } from "../core/chain";
import { readDeployment } from "../core/deployments";
import { ZgError, firstLine } from "../core/errors";
import { packageRoot } from "../core/paths";
import type { ExplorerPanel, TraceEngine } from "../core/trace";
import { traceMermaid } from "../core/trace-render";

/** What the page polls: the deployment and every deployed module's panels. */
export interface ExplorerState {
  chainId: number;
  registry: string;
  head: number;
  profile: string;
  governance: string;
  modules: { name: string; address: string; version: string }[];
  panels: (ExplorerPanel & { module: string })[];
  /** Modules whose panels failed this time, with why (the page shows the rest). */
  errors: string[];
}

/** State is rebuilt at most this often, however many pages poll. */
const STATE_TTL_MS = 1500;

/**
 * The explorer: one plain HTML page (no build step, no dependency) and the JSON API it polls, served by one process.
 * `GET /api/state` gives the panels; `GET /api/trace?q=<thing>&depth=<n>` a trace with its Mermaid text.
 */
export class Explorer {
  private state: { at: number; value: Promise<ExplorerState> } | undefined;
  private work: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly chain: ZgChain,
    private readonly engine: TraceEngine,
  ) {}

  /** Runs engine work one at a time (a refresh and a trace never interleave their reads). */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.work.then(task);
    this.work = run.catch(() => undefined);
    return run;
  }

  currentState(): Promise<ExplorerState> {
    if (this.state && Date.now() - this.state.at < STATE_TTL_MS) return this.state.value;
    const value = this.serial(() => this.buildState());
    this.state = { at: Date.now(), value };
    value.catch(() => (this.state = undefined));
    return value;
  }

  private async buildState(): Promise<ExplorerState> {
    await this.engine.refresh();
    const context = this.engine.context();
    const [modules, governance] = await Promise.all([this.chain.modules(), this.chain.registry.owner()]);
    const record = readDeployment(this.chain.chainId);
    const panels: ExplorerState["panels"] = [];
    const errors: string[] = [];
    for (const source of this.engine.sources) {
      try {
        for (const panel of (await source.panels?.(context)) ?? [])
          panels.push({ ...panel, module: source.module });
      } catch (error) {
        errors.push(`${source.module}: ${firstLine(error)}`);
      }
    }
    return {
      chainId: this.chain.chainId,
      registry: this.chain.registryAddress,
      head: context.head,
      profile:
        record && record.registry.toLowerCase() === this.chain.registryAddress.toLowerCase()
          ? record.profile
          : "not recorded here (the modules below are what the registry lists)",
      governance,
      modules,
      panels,
      errors,
    };
  }

  trace(input: string, depth: number) {
    return this.serial(async () => {
      const trace = await this.engine.trace(input, depth);
      return { ...trace, mermaid: traceMermaid(trace) };
    });
  }

  /** Serves the page and the API on host:port until `close`. */
  async listen(host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
    const page = readFileSync(path.join(packageRoot(), "offchain", "explorer", "page.html"));
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://explorer");
      if (request.method !== "GET") return send(response, 405, { error: "only GET" });
      if (url.pathname === "/") {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
        return;
      }
      if (url.pathname === "/health") return send(response, 200, { status: "ok" });
      if (url.pathname === "/api/state") {
        this.currentState().then(
          (state) => send(response, 200, state),
          (error: unknown) => send(response, 502, { error: firstLine(error) }),
        );
        return;
      }
      if (url.pathname === "/api/trace") {
        const input = url.searchParams.get("q") ?? "";
        const depth = Number(url.searchParams.get("depth") ?? 2);
        if (!input || !Number.isInteger(depth) || depth < 1 || depth > 5)
          return send(response, 400, { error: "give q=<thing> and depth from 1 to 5" });
        this.trace(input, depth).then(
          (trace) => send(response, 200, trace),
          (error: unknown) =>
            send(response, error instanceof ZgError && error.code === "NOT_FOUND" ? 404 : 502, {
              error: firstLine(error),
            }),
        );
        return;
      }
      send(response, 404, { error: "not found" });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    const { port: bound } = server.address() as { port: number };
    return {
      url: `http://${host}:${bound}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
    .end(
      JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)),
    );
}
