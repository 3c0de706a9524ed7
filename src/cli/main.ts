/**
 * The `weft` command.
 *
 *   weft [serve] [--port 8080] [--database-url postgres://…] …   start the control plane
 *   weft migrate [--database-url …]                              apply migrations and exit
 *   weft serve --help                                            print the server's options
 *   weft apply|workflows|trigger|runs|events|completion …        talk to a server (program.ts)
 *   weft help                                                    list every command
 *
 * Server exit codes: 0 clean shutdown, 1 runtime failure (e.g. database
 * unreachable), 2 bad usage or configuration (a port already taken too),
 * 130/143 forced stop on a second signal. Client exit codes: see `errors.ts`.
 */
import { ConfigError, OPTIONS, loadConfig, type Config } from "../config.js";
import { PortUnavailableError } from "../http/port-check.js";
import { createLogger, type Logger } from "../log.js";

/**
 * The client commands and the server load different worlds (a gRPC client;
 * the store, PGlite and the dispatcher): each is imported when used, so
 * `weft runs ls` does not load the server to print a table.
 */
const runClientCommand = async (argv: string[]): Promise<number> =>
  (await import("./program.js")).runClientCommand(argv);

/** The `msg` of the line SIGUSR2 prints (bench/support/server.ts looks for it). */
const MEMORY_AFTER_GC = "memory after gc";

const USAGE = `usage: weft [serve|migrate] [options]   (weft help: every command)

options (flag / environment variable / default):
${Object.values(OPTIONS)
  .map((o) => `  --${o.flag.padEnd(22)} ${o.env.padEnd(27)} ${(o.default || "(unset)").padEnd(40)} ${o.help}`)
  .join("\n")}
`;

/** Commands that run the control plane itself, with the server's options; the rest are client commands. */
const SERVER_COMMANDS = new Set(["serve", "migrate"]);
/** The client commands' global options (program.ts): given first (`weft --address … runs ls`), they mean a client command. */
const CLIENT_FLAGS = new Set([
  "--address",
  "--api-key",
  "-n",
  "--namespace",
  "-o",
  "--output",
  "--ca-file",
  "--cert-file",
  "--key-file",
]);

/** Where a browser on this machine opens the console. */
function consoleUrl(config: Config, port: number): string {
  const anyInterface = config.host === "0.0.0.0" || config.host === "::" || config.host === "";
  const host = anyInterface ? "127.0.0.1" : config.host.includes(":") ? `[${config.host}]` : config.host;
  return `${config.tlsCert ? "https" : "http"}://${host}:${port}/`;
}

/** Runs the server until SIGTERM / SIGINT; resolves with the exit code. */
async function serve(config: Config, logger: Logger): Promise<number> {
  const { startServer } = await import("../server.js");
  let server;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    // Bad usage, not a failure: one line saying what to change, no stack.
    if (!(err instanceof PortUnavailableError)) throw err;
    process.stderr.write(`weft: ${err.message}\n`);
    return 2;
  }
  logger.info(
    { port: server.port, mode: config.databaseUrl ? "postgres" : "embedded", console: consoleUrl(config, server.port) },
    "weft listening",
  );
  // For memory measurements (the benchmarks' S6): SIGUSR2 runs a full GC when node was started
  // with --expose-gc and WEFT_GC_SIGNAL=1, then prints one line of what the process holds.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (process.env.WEFT_GC_SIGNAL === "1" && gc) {
    process.on("SIGUSR2", () => {
      gc();
      const m = process.memoryUsage();
      process.stdout.write(`${JSON.stringify({ msg: MEMORY_AFTER_GC, heapUsed: m.heapUsed, external: m.external })}\n`);
    });
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(signal === "SIGINT" ? 130 : 143);
      }
      stopping = true;
      logger.info({ signal }, "shutting down");
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === "help" || first === "--help" || first === "-h") return runClientCommand(["--help"]);
  if (first !== undefined && CLIENT_FLAGS.has(first.split("=", 1)[0]!)) return runClientCommand(argv);
  // No command, or server options first (`weft --port 9000`): serve, as before there were client commands.
  const command = first && !first.startsWith("-") ? first : "serve";
  if (!SERVER_COMMANDS.has(command)) return runClientCommand(argv);
  const rest = first === command ? argv.slice(1) : argv;
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig(rest, process.env);
  } catch (err) {
    if (
      err instanceof ConfigError ||
      (err instanceof Error && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      process.stderr.write(`weft: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, pretty: config.logFormat === "pretty" });
  switch (command) {
    case "migrate": {
      const { openStore, migrateWhenReachable } = await import("../store/index.js");
      const store = await openStore(config, logger);
      try {
        await migrateWhenReachable(store, { waitMs: config.databaseWaitMs, logger });
        logger.info("migrations applied");
      } finally {
        await store.close();
      }
      return 0;
    }
    case "serve":
      return serve(config, logger);
    default:
      process.stderr.write(`weft: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

// Output piped into a reader that stopped early (`weft runs ls | head`): stop quietly, like other tools.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let pino flush; then make sure stray handles (e.g. a stuck client) do not keep us alive.
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    process.stderr.write(`weft: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
