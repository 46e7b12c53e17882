import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the service's stdout and stderr go. */
  logFile: string;
  /** Restart the service when it exits unexpectedly (workers); otherwise its exit is fatal (the chain). */
  restart: boolean;
}

/** What a service is doing: running, waiting to be restarted, given up on, or stopped on purpose. */
export type ServiceState = "running" | "restarting" | "failed" | "stopped";

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** Restarts within the last minute. */
  restarts: number;
  /** Why it failed, for a failed service. */
  reason?: string;
}

interface Service {
  spec: ServiceSpec;
  child?: ChildProcess;
  log: WriteStream;
  restarts: number[];
  state: ServiceState;
  reason?: string;
}

const MAX_RESTARTS_PER_MINUTE = 5;
const STOP_GRACE_MS = 10_000;

/**
 * Starts services as separate child processes, each logging to its own file; restarts crashed workers with a
 * growing delay and marks one that keeps crashing failed (the others keep running); stops everything in reverse
 * order (SIGTERM, then SIGKILL after a grace period).
 */
export class Supervisor {
  private readonly services: Service[] = [];
  private stopping = false;

  constructor(
    private readonly report: (message: string) => void,
    /** Called when a service that must not die (the chain) exits. */
    private readonly onFatal: (reason: string) => void,
    /** The first restart delay; each further restart within a minute doubles it. */
    private readonly restartDelayMs = 500,
  ) {}

  start(spec: ServiceSpec): ChildProcess {
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const service: Service = {
      spec,
      log: createWriteStream(spec.logFile, { flags: "a" }),
      restarts: [],
      state: "running",
    };
    this.services.push(service);
    return this.launch(service);
  }

  private launch(service: Service): ChildProcess {
    const { spec } = service;
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(service.log, { end: false });
    child.stderr?.pipe(service.log, { end: false });
    service.child = child;
    service.state = "running";
    child.on("exit", (code, signal) => {
      if (this.stopping || service.state === "stopped" || service.child !== child) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!spec.restart) {
        this.onFatal(`${spec.name} exited (${how}); see ${spec.logFile}`);
        return;
      }
      const now = Date.now();
      service.restarts = service.restarts.filter((at) => now - at < 60_000);
      if (service.restarts.length >= MAX_RESTARTS_PER_MINUTE) {
        service.state = "failed";
        service.reason = `keeps crashing (${how}); see ${spec.logFile}`;
        this.report(`${spec.name} FAILED: ${service.reason}; the rest keeps running`);
        return;
      }
      service.restarts.push(now);
      service.state = "restarting";
      const delay = this.restartDelayMs * 2 ** (service.restarts.length - 1);
      this.report(`${spec.name} exited (${how}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!this.stopping && service.state === "restarting") this.launch(service);
      }, delay);
    });
    return child;
  }

  /** Every service's state, in start order. */
  statuses(): ServiceStatus[] {
    return this.services.map(({ spec, state, restarts, reason }) => {
      const recent = restarts.filter((at) => Date.now() - at < 60_000).length;
      return { name: spec.name, state, restarts: recent, ...(reason ? { reason } : {}) };
    });
  }

  /** The running child of a service, for tests and health checks. */
  child(name: string): ChildProcess | undefined {
    return this.services.find((service) => service.spec.name === name)?.child;
  }

  /** Stops one service for good (no restart), e.g. to show that the stack survives losing it. */
  async stop(name: string): Promise<void> {
    const service = this.services.find((candidate) => candidate.spec.name === name);
    if (!service) throw new Error(`no service named ${name}`);
    service.state = "stopped";
    await stopChild(service.child);
  }

  /** Stops a service for good and forgets it (a worker started for one demo step). */
  async remove(name: string): Promise<void> {
    await this.stop(name);
    const index = this.services.findIndex((candidate) => candidate.spec.name === name);
    const [service] = this.services.splice(index, 1);
    await new Promise<void>((resolve) => service.log.end(resolve));
  }

  /** Starts a service stopped with `stop` again, with the same command line. */
  resume(name: string): ChildProcess {
    const service = this.services.find((candidate) => candidate.spec.name === name);
    if (!service) throw new Error(`no service named ${name}`);
    service.restarts = [];
    service.reason = undefined;
    return this.launch(service);
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const service of [...this.services].reverse()) {
      await stopChild(service.child);
      await new Promise<void>((resolve) => service.log.end(resolve));
    }
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
