/**
 * The run's timeline: one bar per step attempt, from the history, with the
 * wait in the queue (light) and the execution (coloured by how it ended).
 *
 * @example
 *   <Gantt events={history} now={Date.now()} />
 */
import type { RunEvent } from "../../gen/weft/v1/common_pb.js";
import { duration } from "./format.js";
import { attemptsOf } from "./timeline.js";

export function Gantt({ events, now }: { events: RunEvent[]; now: number }) {
  const attempts = attemptsOf(events);
  if (attempts.length === 0) return <p class="muted">No step has been queued yet.</p>;
  const t0 = Math.min(...attempts.map((a) => a.queued));
  const t1 = Math.max(...attempts.map((a) => a.ended ?? now), t0 + 1);
  const pct = (t: number) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
  const width = (a: number, b: number) => `${Math.max(((b - a) / (t1 - t0)) * 100, 0.3).toFixed(3)}%`;
  return (
    <table class="gantt">
      <tbody>
        {attempts.map((a) => {
          const start = a.started ?? a.ended ?? now;
          const end = a.ended ?? now;
          const wait = duration(start - a.queued);
          const exec = a.started === undefined ? "—" : duration(end - a.started);
          return (
            <tr key={`${a.stepId}-${a.queued}`} title={`queued ${wait}, ran ${exec}`}>
              <th>
                {a.stepId} <span class="muted">#{a.attempt || 1}</span>
              </th>
              <td class="lane">
                <span class="bar wait" style={{ left: pct(a.queued), width: width(a.queued, start) }} />
                {a.started !== undefined && (
                  <span
                    class={`bar exec s-${a.outcome}`}
                    style={{ left: pct(a.started), width: width(a.started, end) }}
                  />
                )}
              </td>
              <td class="num">
                <span class="muted">wait</span> {wait} · <span class="muted">ran</span> {exec}
              </td>
            </tr>
          );
        })}
      </tbody>
      <caption>{duration(t1 - t0)} from the first queued step; light: waiting in the queue, solid: running</caption>
    </table>
  );
}
