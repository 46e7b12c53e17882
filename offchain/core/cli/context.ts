import {
  chainConfigFromEnv,
  chainConfigSchema,
  readConfigFile,
  resolveChainConfig,
  validate,
  type ChainConfig,
} from "../config";
import { ZgChain } from "../chain";

/** The options every `zg` command accepts. */
export interface GlobalOptions {
  network?: string;
  rpc?: string;
  registry?: string;
  key?: string;
  privateKey?: string;
  passwordFile?: string;
  config?: string;
  json?: boolean;
}

/** The chain config the options, the environment and the config file describe (flags win, then env). */
export function chainConfigFromOptions(options: GlobalOptions): ChainConfig {
  const file = readConfigFile(options.config);
  const { __dir, ...fields } = file;
  validate(chainConfigSchema, fields, `config file ${options.config ?? "zg.config.json"}`);
  return resolveChainConfig({
    file: { ...fields, __dir },
    env: chainConfigFromEnv(),
    flags: {
      network: options.network,
      rpcUrl: options.rpc,
      registry: options.registry,
      privateKey: options.privateKey,
      keystore: options.key,
      passwordFile: options.passwordFile,
    },
  });
}

export function connect(options: GlobalOptions, requireKey = false): Promise<ZgChain> {
  return ZgChain.connect(chainConfigFromOptions(options), { requireKey });
}
