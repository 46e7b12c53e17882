import { ZgError, firstLine } from "../core/errors";
import {
  DemoSkipped,
  type DemoContext,
  type DemoControls,
  type DemoStep,
  type DevnetState,
  type ModuleManifest,
} from "../core/module";
import { MODULES } from "../modules";
import { connectDevnet, devAccount, DEVNET_USER } from "./accounts";

/** The one step that belongs to no module: what the registry lists is what the deployment recorded. */
const REGISTRY_STEP: DemoStep = {
  title: "modules are found through the registry",
  async run({ state, connectAs }) {
    const chain = await connectAs("USER");
    try {
      const modules = await chain.modules();
      const recorded = Object.keys(state.deployment.modules).sort();
      const listed = modules.map((m) => m.name);
      if (JSON.stringify(listed) !== JSON.stringify(recorded)) {
        throw new ZgError(
          `the registry lists ${listed.join(", ")} but the deployment recorded ${recorded.join(", ")}`,
        );
      }
      return modules.map((m) => `${m.name} v${m.version}`).join(", ") || "no modules (core only)";
    } finally {
      chain.destroy();
    }
  },
};

/**
 * Runs the registry step, then each deployed module's demo steps in list order (a step whose extra contract is not
 * deployed is skipped); prints a line per step; true when all succeeded.
 */
export async function runDemo(
  state: DevnetState,
  say: (line: string) => void,
  controls: DemoControls,
  modules: readonly ModuleManifest[] = MODULES,
): Promise<boolean> {
  const connect = (privateKey: string) => connectDevnet(state.rpcUrl, state.deployment.registry, privateKey);
  let lastAccount = DEVNET_USER;
  const context: DemoContext = {
    state,
    controls,
    connectAs: (role) => {
      if (role === "GOVERNANCE") return connect(devAccount(0).privateKey);
      const operator = role === "USER" ? undefined : state.operators.find((o) => o.role === role);
      if (role !== "USER" && !operator) throw new ZgError(`no devnet operator serves ${role}`);
      return connect(operator?.privateKey ?? state.user.privateKey);
    },
    // Accounts after the devnet's user, each handed out once: the chain funded them at genesis.
    newAccount: () => connect(devAccount(++lastAccount).privateKey),
  };
  say("demo:");
  let ok = true;
  const steps = [
    REGISTRY_STEP,
    ...modules.flatMap((module) => {
      const deployed = Object.values(module.contracts).some((c) => state.deployment.modules[c.name]);
      return deployed ? module.demo : [];
    }),
  ];
  for (const step of steps) {
    if (step.needs && !state.deployment.modules[step.needs]) {
      say(`  - ${step.title}: skipped (${step.needs} is not in this profile)`);
      continue;
    }
    try {
      say(`  ✓ ${step.title}: ${await step.run(context)}`);
    } catch (error) {
      if (error instanceof DemoSkipped) {
        say(`  - ${step.title}: skipped (${error.message})`);
        continue;
      }
      ok = false;
      say(`  ✗ ${step.title}: ${firstLine(error)}`);
    }
  }
  say(ok ? "demo succeeded" : "demo FAILED");
  return ok;
}
