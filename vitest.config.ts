import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start servers and databases of their own; two cores, so a few at a time.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ["default"],
  },
});
