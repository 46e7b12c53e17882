#!/usr/bin/env node
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

const entry = path.join(__dirname, "..", "dist", "offchain", "cli", "main.js");
if (!existsSync(entry)) {
  process.stderr.write("zg: the CLI is not built yet: run 'npm ci' (or 'npm run build') in the checkout\n");
  process.exit(1);
}
require(entry);
