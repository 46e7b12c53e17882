import { readConfigFile } from "../core/config";
import { ZgError } from "../core/errors";
import { composeWorker, runWorkerProcess } from "../core/worker";
import { inftOracleService } from "../inft/oracle";
import { inferenceService } from "../serving/oracle";
import { stakingWatcher } from "../staking/watcher";
import { storageNode } from "../storage/node";

const WORKERS = {
  storage: storageNode,
  oracle: composeWorker("oracle", [inferenceService, inftOracleService]),
  watcher: stakingWatcher,
} as const;

/** `zg node <kind> --config <file>`: runs a worker in the foreground until SIGINT or SIGTERM. */
export async function runNode(kind: string, configFile: string | undefined): Promise<void> {
  const definition = WORKERS[kind as keyof typeof WORKERS];
  if (!definition)
    throw new ZgError(
      `unknown worker kind '${kind}' (kinds: ${Object.keys(WORKERS).join(", ")})`,
      "BAD_INPUT",
    );
  if (!configFile) throw new ZgError(`'zg node ${kind}' needs --config <file>`, "BAD_INPUT");
  await runWorkerProcess(definition, readConfigFile(configFile), `config file ${configFile}`);
}
