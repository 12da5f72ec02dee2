/**
 * Reads a V8 .cpuprofile (written by `node --cpu-prof`) and ranks where the time went: self time per
 * function and per package or govshare folder, idle time left out of the percentages.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds on the CPU (everything but `(idle)`). */
  busyMs: number;
  functions: { name: string; ms: number; share: number }[];
  groups: { name: string; ms: number; share: number }[];
}

/**
 * `from` names a function: samples before the first one taken inside it are left out (e.g. the start-up
 * of a server before its first request).
 */
export function summariseProfile(
  path: string,
  options: { top?: number; from?: string } = {},
): ProfileSummary {
  const top = options.top ?? 20;
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inside = (id: number | undefined, name: string): boolean => {
    for (let at = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)!.callFrame.functionName === name) return true;
    }
    return false;
  };
  const first = options.from ? profile.samples.findIndex((id) => inside(id, options.from!)) : 0;
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (i < first) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const functions = new Map<string, number>();
  const groups = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busyUs += us;
    const name = `${frame.functionName || '(anonymous)'} ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const group = groupOf(frame);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busyUs }));
  return { busyMs: busyUs / 1000, functions: rank(functions), groups: rank(groups) };
}

function where(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const build = /\/(?:dist|\.build\/[^/]+)\/(.*)$/.exec(url);
  return build?.[1] ?? url.replace(/^file:\/\//, '');
}

function groupOf(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native / V8 builtins)';
  if (frame.url.startsWith('node:')) return frame.url.split('/').slice(0, 2).join('/');
  if (frame.url.startsWith('wasm:')) return 'wasm';
  const path = where(frame.url);
  if (frame.url.includes('node_modules/')) {
    const parts = path.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const parts = path.split('/');
  return `govshare ${parts.slice(0, Math.min(2, parts.length - 1)).join('/')}`;
}

export function profileTables(summary: ProfileSummary): string {
  const table = (title: string, rows: ProfileSummary['functions']) =>
    [
      `| self ms | share | ${title} |`,
      '|---:|---:|---|',
      ...rows.map((r) => `| ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% | ${r.name} |`),
    ].join('\n');
  return `${table('function', summary.functions)}\n\n${table('package or folder', summary.groups)}`;
}
