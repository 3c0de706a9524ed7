/**
 * Fails (exit 1) when the relative imports of src/ and sdk/ form a cycle,
 * printing each as a path of files. Type-only imports count: see
 * `import-graph.ts`. `npm run lint` runs it; the layer arrows themselves are
 * eslint's `no-restricted-imports` (eslint.config.js).
 *
 *   tsx scripts/check-imports.ts [folder ...]   (default: src sdk)
 */
import { findCycles, readImportGraph } from "./import-graph.js";

const folders = process.argv.length > 2 ? process.argv.slice(2) : ["src", "sdk"];
const graph = readImportGraph(process.cwd(), folders);
const cycles = findCycles(graph);
for (const cycle of cycles) console.error(`import cycle: ${cycle.join(" → ")}`);
if (cycles.length > 0) {
  console.error(
    `${cycles.length} import cycle(s) in ${folders.join(", ")}: move the shared type or function to where it belongs`,
  );
  process.exitCode = 1;
} else {
  console.log(`no import cycles among ${graph.size} files of ${folders.join(", ")}`);
}
