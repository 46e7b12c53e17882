import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { validate } from "./core/config";
import { ZgError } from "./core/errors";
import type { ModuleManifest } from "./core/module";
import { packageRoot } from "./core/paths";
import { MODULES } from "./modules";

/** A deployment profile (`deploy/profiles/<name>.json`): which modules, each with its section's parameters. */
export interface Profile {
  name: string;
  description: string;
  /** The sections of the modules it deploys, by module name, defaults filled in. */
  modules: Record<string, unknown>;
}

/**
 * The schema of a profile over `modules`: one optional section per module, validated by the module's own schema;
 * a module named without a module it requires is refused with one line naming the missing one.
 */
export function profileSchemaFor(modules: readonly ModuleManifest[]) {
  const sections = Object.fromEntries(modules.map((module) => [module.name, module.profile.optional()]));
  return z
    .object({
      description: z.string().min(1),
      modules: z.object(sections).strict(),
    })
    .strict()
    .superRefine((profile, context) => {
      const named = profile.modules as Record<string, unknown>;
      for (const module of modules) {
        if (named[module.name] === undefined) continue;
        for (const required of module.requires) {
          if (named[required] === undefined)
            context.addIssue({
              code: z.ZodIssueCode.custom,
              message: `module '${module.name}' requires module '${required}', which the profile leaves out`,
            });
        }
      }
    });
}

/** The schema of a profile over every module of the stack. */
export const profileSchema = profileSchemaFor(MODULES);

/** Where profiles are read from: `deploy/profiles`, or the folder `ZG_PROFILES_DIR` names (an operator's own). */
export function profilesDir(): string {
  return process.env.ZG_PROFILES_DIR || path.join(packageRoot(), "deploy", "profiles");
}

export function profileNames(): string[] {
  return readdirSync(profilesDir())
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -5))
    .sort();
}

/** Loads and validates a profile by name; an unknown name lists the ones that exist. */
export function loadProfile(name: string, modules: readonly ModuleManifest[] = MODULES): Profile {
  const file = path.join(profilesDir(), `${name}.json`);
  if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) {
    throw new ZgError(`unknown profile '${name}' (profiles: ${profileNames().join(", ")})`, "BAD_INPUT");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ZgError(`profile ${file} is not valid JSON: ${(error as Error).message}`, "BAD_CONFIG");
  }
  const profile = validate(profileSchemaFor(modules), raw, `profile ${name}`) as Omit<Profile, "name">;
  const deployed = Object.fromEntries(
    Object.entries(profile.modules).filter(([, section]) => section !== undefined),
  );
  return { name, description: profile.description, modules: deployed };
}

/** The modules a profile deploys, in list order. */
export function profileModules(
  profile: Profile,
  modules: readonly ModuleManifest[] = MODULES,
): ModuleManifest[] {
  return modules.filter((module) => profile.modules[module.name] !== undefined);
}
