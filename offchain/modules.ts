import type { ModuleManifest } from "./core/module";
import type { ZodTypeAny } from "zod";
import type { WorkerDefinition } from "./core/worker";
import { alignment } from "./alignment/module";
import { da } from "./da/module";
import { inft } from "./inft/module";
import { serving } from "./serving/module";
import { staking } from "./staking/module";
import { storage } from "./storage/module";

/**
 * Every module of the stack, in order: a module comes after the modules it requires, and a worker's services start
 * in this order. Adding a module is its own folders plus one line here.
 */
export const MODULES: readonly ModuleManifest[] = [staking, storage, serving, inft, da, alignment];

/** The worker kinds the modules run (`zg node <kind>`), each with the modules that take part in it. */
export function workerKinds(modules: readonly ModuleManifest[] = MODULES): Map<string, string[]> {
  const kinds = new Map<string, string[]>();
  for (const module of modules)
    for (const entry of module.workers)
      kinds.set(entry.worker, [...(kinds.get(entry.worker) ?? []), module.name]);
  return kinds;
}

/** The worker `zg node <kind>` runs: the services of every module that declares that kind, composed in order. */
export async function workerDefinition(
  kind: string,
  modules: readonly ModuleManifest[] = MODULES,
): Promise<WorkerDefinition<ZodTypeAny>> {
  const entries = modules.flatMap((module) => module.workers.filter((entry) => entry.worker === kind));
  // Loaded here, not at start-up: the CLI reads this list for `zg --help`.
  const { composeWorker } = await import("./core/worker");
  const { ZgError } = await import("./core/errors");
  if (entries.length === 0)
    throw new ZgError(
      `unknown worker kind '${kind}' (kinds: ${[...workerKinds(modules).keys()].join(", ")})`,
      "BAD_INPUT",
    );
  return composeWorker(kind, await Promise.all(entries.map((entry) => entry.load())));
}
