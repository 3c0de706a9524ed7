/**
 * Moved to the engine (`src/engine/settle-plan.ts`). Kept as a re-export for
 * `trigger-runs.ts` while other work edits that file; import from the engine.
 */
export { settlePlan } from "../engine/settle-plan.js";
export { tooLarge } from "../engine/storable.js";
