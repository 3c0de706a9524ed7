/**
 * The `weft` client commands (commander): workflows, runs, events, workers,
 * completion. Each opens one client to `--address`, prints with `-o`, and
 * turns failures into one line and an exit code (see `errors.ts`).
 *
 * @example
 *   const code = await runClientCommand(["runs", "ls", "--since", "1h"]);
 */
import { Command, CommanderError, Option } from "commander";
import { registerCompletionCommand } from "./commands/completion.js";
import { registerEventCommands } from "./commands/events.js";
import { registerAuditCommand, registerKeyCommands } from "./commands/keys.js";
import { registerRunCommands } from "./commands/runs.js";
import { registerWorkerCommands } from "./commands/workers.js";
import { registerWorkflowCommands } from "./commands/workflows.js";
import { DEFAULT_ADDRESS, openContext, type CliContext, type GlobalOptions } from "./context.js";
import { describeError, EXIT } from "./errors.js";

/**
 * Wraps a command's action: opens the context from the global options,
 * runs it, closes the client, and records the exit code.
 */
function runner(state: { exitCode: number; address?: string }) {
  return (action: (ctx: CliContext, ...args: never[]) => Promise<number | void>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args.at(-1) as Command;
      const positional = args.slice(0, -1);
      let ctx: CliContext | undefined;
      try {
        ctx = openContext(command.optsWithGlobals<GlobalOptions>());
        state.address = ctx.address;
        const code = await action(ctx, ...(positional as never[]));
        state.exitCode = typeof code === "number" ? code : EXIT.ok;
      } catch (err) {
        const { line, exitCode } = describeError(err, state.address);
        process.stderr.write(`${line}\n`);
        state.exitCode = exitCode;
      } finally {
        ctx?.close();
      }
    };
}

/**
 * The program, with its commands; `serve` and `migrate` are listed for help
 * only (main.ts runs them with the server's own options).
 *
 * @example
 *   buildProgram({ exitCode: 0 }).helpInformation();
 */
export function buildProgram(state: { exitCode: number; address?: string }): Command {
  const program = new Command("weft")
    .description("Weft: run the control plane, or talk to one")
    .addOption(new Option("--address <url>", "the Weft server").env("WEFT_ADDRESS").default(DEFAULT_ADDRESS))
    .addOption(new Option("--api-key <key>", "sent as a bearer token (servers that require keys)").env("WEFT_API_KEY"))
    .addOption(
      new Option("-n, --namespace <name>", "the namespace to act in (default: the key's only one, else default)").env(
        "WEFT_NAMESPACE",
      ),
    )
    .addOption(new Option("-o, --output <format>", "table, json or yaml").default("table"))
    .addOption(
      new Option("--ca-file <pem>", "CA the server's TLS certificate must chain to (https:// addresses)").env(
        "WEFT_CA_FILE",
      ),
    )
    .addOption(
      new Option("--cert-file <pem>", "client certificate, for servers that require one (mTLS)").env("WEFT_CERT_FILE"),
    )
    .addOption(new Option("--key-file <pem>", "private key of --cert-file").env("WEFT_KEY_FILE"))
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      `
Server commands (options: weft serve --help):
  serve                 start the control plane (the default with no command)
  migrate               apply database migrations and exit

Exit codes: 0 success; 1 a run waited for did not succeed; 2 bad usage; 3 the server refused the call; 4 no server answered.`,
    );
  const run = runner(state);
  registerWorkflowCommands(program, run);
  registerRunCommands(program, run);
  registerEventCommands(program, run);
  registerWorkerCommands(program, run);
  registerKeyCommands(program, run);
  registerAuditCommand(program, run);
  registerCompletionCommand(program);
  return program;
}

/**
 * Runs one client command line (without `node` and the script); resolves with its exit code.
 *
 * @example
 *   process.exitCode = await runClientCommand(process.argv.slice(2));
 */
export async function runClientCommand(argv: string[]): Promise<number> {
  const state: { exitCode: number; address?: string } = { exitCode: EXIT.ok };
  const program = buildProgram(state).exitOverride();
  for (const cmd of allCommands(program)) cmd.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version"
        ? EXIT.ok
        : EXIT.usage;
    }
    const { line, exitCode } = describeError(err, state.address);
    process.stderr.write(`${line}\n`);
    return exitCode;
  }
  return state.exitCode;
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}
