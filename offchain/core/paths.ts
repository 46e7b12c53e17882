import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

let root: string | undefined;

/** The checkout's root (the folder of zerog-stack's package.json), from source or from dist/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "zerog-stack"
    ) {
      root = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the zerog-stack package root");
    dir = parent;
  }
}

/** The user's zg home: keys and defaults live here. `ZG_HOME` overrides `~/.zg`. */
export function zgHome(): string {
  return process.env.ZG_HOME ?? path.join(homedir(), ".zg");
}
