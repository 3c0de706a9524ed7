/**
 * A workflow's steps as a graph laid out by dagre (left to right), each
 * step coloured by its status when a run is shown. Clicking a step picks it.
 *
 * @example
 *   <Dag steps={spec.steps} status={{ greet: "succeeded" }} selected="greet" onSelect={pick} />
 */
import { Graph, layout } from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import type { StepSpec } from "../../gen/weft/v1/common_pb.js";

const W = 150;
const H = 44;

interface Laid {
  nodes: { id: string; action: string; x: number; y: number }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
  width: number;
  height: number;
}

function lay(steps: StepSpec[]): Laid {
  const g = new Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of steps) g.setNode(s.id, { width: W, height: H });
  for (const s of steps) for (const d of s.dependsOn) if (g.hasNode(d)) g.setEdge(d, s.id);
  layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  return {
    nodes: steps.map((s) => {
      const n = g.node(s.id) as { x: number; y: number };
      return { id: s.id, action: s.action, x: n.x, y: n.y };
    }),
    edges: g.edges().map((e) => ({
      from: e.v,
      to: e.w,
      points: (g.edge(e) as { points?: { x: number; y: number }[] }).points ?? [],
    })),
    width: graph.width ?? W,
    height: graph.height ?? H,
  };
}

export interface DagProps {
  steps: StepSpec[];
  status?: Record<string, string>;
  selected?: string | null;
  onSelect?: (stepId: string) => void;
}

export function Dag({ steps, status = {}, selected, onSelect }: DagProps) {
  const laid = useMemo(() => lay(steps), [steps]);
  if (steps.length === 0) return <p class="muted">No steps.</p>;
  return (
    <svg class="dag" width={laid.width} height={laid.height} viewBox={`0 0 ${laid.width} ${laid.height}`} role="img">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#8a94a6" />
        </marker>
      </defs>
      {laid.edges.map((e) => (
        <polyline
          key={`${e.from}-${e.to}`}
          class="edge"
          points={e.points.map((p) => `${p.x},${p.y}`).join(" ")}
          marker-end="url(#arrow)"
        />
      ))}
      {laid.nodes.map((n) => {
        const s = status[n.id] ?? "none";
        return (
          <g
            key={n.id}
            class={`node s-${s}${selected === n.id ? " selected" : ""}`}
            data-step={n.id}
            data-status={s}
            transform={`translate(${n.x - W / 2},${n.y - H / 2})`}
            onClick={() => onSelect?.(n.id)}
          >
            <rect width={W} height={H} rx="6" />
            <text x="10" y="18" class="id">
              {n.id}
            </text>
            <text x="10" y="34" class="action">
              {n.action}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
