#!/usr/bin/env node
// The `weft` command: runs the TypeScript sources through tsx (a dependency), so it works in a
// checkout (`npx weft …`) and when the package is installed globally.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
