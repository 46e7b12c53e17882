import { readConfigFile } from "../core/config";
import { ZgError } from "../core/errors";
import type { ModuleManifest } from "../core/module";
import { runWorkerProcess } from "../core/worker";
import { MODULES, workerDefinition } from "../modules";

/** `zg node <kind> --config <file>`: runs a worker in the foreground until SIGINT or SIGTERM. */
export async function runNode(
  kind: string,
  configFile: string | undefined,
  modules: readonly ModuleManifest[] = MODULES,
): Promise<void> {
  const definition = await workerDefinition(kind, modules);
  if (!configFile) throw new ZgError(`'zg node ${kind}' needs --config <file>`, "BAD_INPUT");
  await runWorkerProcess(definition, readConfigFile(configFile), `config file ${configFile}`);
}
