/**
 * The URL is the state: the path picks the page, the query holds filters,
 * the chosen step and paging. `navigate` pushes a history entry; back and
 * forward re-render from the URL.
 *
 * @example
 *   const route = useRoute();
 *   navigate(`/runs/${id}?step=greet`);
 */
import { createStore, useStore } from "./store.js";

export interface Route {
  path: string;
  query: URLSearchParams;
}

const current = () => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });
const route = createStore<Route>(current());
window.addEventListener("popstate", () => route.set(current()));

export function useRoute(): Route {
  return useStore(route);
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  route.set(current());
  if (!opts.replace) window.scrollTo(0, 0);
}

/** `path?query` from the query's non-empty entries. */
export function href(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Same-tab navigation for a plain left click on an `<a href>`; other clicks keep the browser's behaviour. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.origin !== window.location.origin || a.hasAttribute("download")) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
