import type { ModelInfo } from "./api";

/** A group of the model switcher: this device's models, or one other device's. */
export interface ModelGroup {
  /** the other device's name; "" for this device */
  device: string;
  label: string;
  offline: boolean;
  models: ModelInfo[];
}

/**
 * modelGroups puts this device's models first, then each of the person's
 * other devices' (DEVICE/MODEL) under the device's name and whether it is
 * online, in the order the server listed them.
 */
export function modelGroups(models: ModelInfo[]): ModelGroup[] {
  const groups: ModelGroup[] = [{ device: "", label: "This device", offline: false, models: [] }];
  for (const m of models) {
    const device = m.device ?? "";
    let g = groups.find((x) => x.device === device);
    if (!g) {
      g = { device, label: "", offline: !!m.offline, models: [] };
      groups.push(g);
    }
    g.offline ||= !!m.offline;
    g.models.push(m);
  }
  for (const g of groups) if (g.device) g.label = `On ${g.device} · ${g.offline ? "offline" : "online"}`;
  return groups.filter((g) => g.models.length > 0);
}

/** offlineDevice is the device of model when it is out of reach, else "". */
export function offlineDevice(models: ModelInfo[], model: string): string {
  const m = models.find((x) => x.name === model);
  return m?.device && m.offline ? m.device : "";
}
