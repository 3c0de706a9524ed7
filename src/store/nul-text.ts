/**
 * Moved to the engine (`src/engine/storable.ts`). Kept as a re-export for
 * `src/api/worker-service.ts` while other work edits that file; import from the engine.
 */
export { INVALID_INPUT, INVALID_OUTPUT, nulFailure, scrubFailure, scrubNul } from "../engine/storable.js";
