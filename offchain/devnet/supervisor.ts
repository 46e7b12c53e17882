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

interface Service {
  spec: ServiceSpec;
  child?: ChildProcess;
  log: WriteStream;
  restarts: number[];
  failed: boolean;
  /** Stopped on purpose: its exit is neither restarted nor fatal. */
  stopped: boolean;
}

const MAX_RESTARTS_PER_MINUTE = 5;
const STOP_GRACE_MS = 10_000;

/**
 * Starts services as separate child processes, each logging to its own file; restarts crashed workers
 * with a growing delay, and stops everything in reverse order (SIGTERM, then SIGKILL after a grace period).
 */
export class Supervisor {
  private readonly services: Service[] = [];
  private stopping = false;

  constructor(
    private readonly report: (message: string) => void,
    /** Called when a service that must not die (the chain) exits, or a worker keeps crashing. */
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
      failed: false,
      stopped: false,
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
    child.on("exit", (code, signal) => {
      if (this.stopping || service.stopped || service.child !== child) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!spec.restart) {
        this.onFatal(`${spec.name} exited (${how}); see ${spec.logFile}`);
        return;
      }
      const now = Date.now();
      service.restarts = service.restarts.filter((at) => now - at < 60_000);
      if (service.restarts.length >= MAX_RESTARTS_PER_MINUTE) {
        service.failed = true;
        this.onFatal(`${spec.name} keeps crashing (${how}); see ${spec.logFile}`);
        return;
      }
      service.restarts.push(now);
      const delay = this.restartDelayMs * 2 ** (service.restarts.length - 1);
      this.report(`${spec.name} exited (${how}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!this.stopping) this.launch(service);
      }, delay);
    });
    return child;
  }

  /** The running child of a service, for tests and health checks. */
  child(name: string): ChildProcess | undefined {
    return this.services.find((service) => service.spec.name === name)?.child;
  }

  /** Stops one service for good (no restart), e.g. to show that the stack survives losing it. */
  async stop(name: string): Promise<void> {
    const service = this.services.find((candidate) => candidate.spec.name === name);
    if (!service) throw new Error(`no service named ${name}`);
    service.stopped = true;
    await stopChild(service.child);
  }

  /** Starts a service stopped with `stop` again, with the same command line. */
  resume(name: string): ChildProcess {
    const service = this.services.find((candidate) => candidate.spec.name === name);
    if (!service) throw new Error(`no service named ${name}`);
    service.stopped = false;
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
