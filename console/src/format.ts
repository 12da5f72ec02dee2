/** Small display helpers shared by the pages. */
export interface StageView {
  seq: number;
  name: string;
  startedAt: string;
  limitWorkdays: number;
  dueDate: string;
  dueAt: string;
  completedAt?: string;
  completedBy?: string;
  overdueAt?: string;
  escalatedAt?: string;
}

export interface ApplicationView {
  id: string;
  consumerDept: string;
  systemId: string;
  resourceCode: string;
  resourceName: string;
  providerDept: string;
  items: string[];
  purposes: string[];
  reason: string;
  modes: string[];
  validTo: string;
  path: string;
  state: string;
  submittedAt: string;
  submittedBy: { name: string; role: string; dept?: string };
  grantId?: string;
  stages: StageView[];
  history: {
    action: string;
    from: string | null;
    to: string;
    at: string;
    by: { name: string; role: string; dept?: string };
    reason?: string;
  }[];
}

export function openStage(application: ApplicationView): StageView | undefined {
  return application.stages.find((s) => !s.completedAt);
}

/** Calendar days from now to the stage's deadline (24:00 CST of its last working day); negative when overdue. */
export function daysLeft(stage: StageView | undefined, now = Date.now()): number | undefined {
  if (!stage) return undefined;
  return Math.ceil((Date.parse(stage.dueAt) - now) / 86_400_000);
}

export function dateTime(iso: string | undefined): string {
  if (!iso) return '';
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

export function csv(text: string): string[] {
  return text
    .split(/[,，\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
