// @ts-check
import tseslint from "typescript-eslint";

/**
 * The arrows of docs/architecture.md ("Parts and arrows"): for each part of
 * src/, the other parts its files may import (types included). Parts reach
 * each other only through relative imports, so a part outside its list is
 * refused by `no-restricted-imports`. `log` is src/log.ts, the logger any
 * part but the engine may take; `gen` is the generated contract, for the parts
 * that speak protobuf. The composition root (src/server.ts, src/config*.ts,
 * src/cli/) may use everything and is used by nothing but itself.
 * Cycles are scripts/check-imports.ts's job (`npm run lint` runs it).
 */
const ARROWS = {
  engine: [],
  store: ["engine", "log"],
  leases: ["log"],
  registry: ["leases", "log"],
  builtins: ["engine", "log"],
  dispatch: ["engine", "store", "leases", "registry", "builtins", "log"],
  jobs: ["engine", "store", "builtins", "dispatch", "log"],
  security: ["engine", "store", "log"],
  api: ["engine", "store", "dispatch", "registry", "security", "log", "gen"],
  http: ["api", "security", "log"],
  observability: ["engine", "store", "dispatch", "log"],
};

/** What a relative import can reach outside a part, and how its path reads (after any number of `../`). */
const TARGETS = {
  ...Object.fromEntries(Object.keys(ARROWS).map((part) => [part, `${part}/`])),
  log: "log\\.js$",
  gen: "gen/",
  sdk: "sdk/",
  root: "(?:server\\.js|config(?:-[a-z]+)?\\.js|cli/)",
};

/** npm packages the pure engine may import: the ones it uses today (CEL, cron, YAML). */
const ENGINE_PACKAGES = ["@bufbuild/cel", "croner", "yaml"];

const WHY = 'see docs/architecture.md, "Parts and arrows"';

/**
 * The `no-restricted-imports` patterns for one part: every target it may
 * not use. A file in a subfolder (src/store/migrations/) climbs one more
 * `../`, hence `(?:\.\./)+`.
 */
function refused(part) {
  const allowed = new Set([part, ...ARROWS[part]]);
  const banned = Object.keys(TARGETS).filter((target) => !allowed.has(target));
  const list = ARROWS[part].length > 0 ? ARROWS[part].join(", ") : "nothing outside itself";
  return banned.map((target) => ({
    regex: `^(?:\\.\\./)+${TARGETS[target]}`,
    caseSensitive: true,
    message: `src/${part} may import ${list}; not ${target === "root" ? "the composition root (server, config, cli)" : target} (${WHY}).`,
  }));
}

/** The engine is pure: no other folder, no `node:` module, no package beyond its own few. */
const enginePatterns = [
  {
    regex: "^\\.\\./",
    caseSensitive: true,
    message: `src/engine imports nothing outside itself (${WHY}).`,
  },
  {
    regex: "^node:",
    caseSensitive: true,
    message: "src/engine does no I/O: no node: modules (the store and dispatch bring the world in).",
  },
  {
    regex: `^(?!\\.|node:|(?:${ENGINE_PACKAGES.join("|")})(?:/|$))`,
    caseSensitive: true,
    message: `src/engine uses only ${ENGINE_PACKAGES.join(", ")} from npm; a new package there is a design decision.`,
  },
];

const layerConfigs = [
  { files: ["src/engine/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: enginePatterns }] } },
  ...Object.keys(ARROWS)
    .filter((part) => part !== "engine")
    .map((part) => ({
      files: [`src/${part}/**/*.ts`],
      rules: { "no-restricted-imports": ["error", { patterns: refused(part) }] },
    })),
  {
    files: ["src/log.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^\\.", caseSensitive: true, message: "src/log.ts is a leaf: every part may use it." }] },
      ],
    },
  },
  {
    files: ["src/server.ts", "src/config*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\./(?:cli/|server\\.js$)",
              caseSensitive: true,
              message: "Only src/cli starts the server or uses the command's own files.",
            },
          ],
        },
      ],
    },
  },
  {
    // The console runs in browsers: it reaches the server through the contract (gen/) only.
    files: ["console/**/*.ts", "console/**/*.tsx"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(?:\\.\\./)+(?!gen/)(?:src|sdk|test|scripts|bench|examples)/",
              caseSensitive: true,
              message: `console/ imports gen/ only, never src/ or sdk/: it talks to the server through the public contract (${WHY}).`,
            },
          ],
        },
      ],
    },
  },
  {
    files: ["sdk/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\./(?!gen/)",
              caseSensitive: true,
              message: `sdk/ imports gen/ only, never src/: it ships to workers without the server (${WHY}).`,
            },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ["gen/**", "node_modules/**", "build/**", "examples/python-worker/**", "console/dist/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  ...layerConfigs,
  {
    // A file is read whole and a function at a glance: past these, split by meaning.
    // Files count every line, as `wc -l` does; functions count code only, so a
    // comment saying why never pushes one over.
    files: ["src/**/*.ts", "sdk/**/*.ts", "console/src/**/*.ts", "console/src/**/*.tsx"],
    rules: {
      "max-lines": ["error", { max: 300, skipBlankLines: false, skipComments: false }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // A migration records what ran against every database: it is never edited, so it keeps its length.
    files: ["src/store/migrations/*.ts"],
    rules: { "max-lines-per-function": "off" },
  },
);
