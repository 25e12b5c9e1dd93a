// Saving a file the page made (an export, a dataset, the recovery key).
// A browser offers it as a download; the desktop window has no download
// bar, so there Go shows the system's save dialog and writes the file.

/** The desktop window's binding (app desktop: Desktop.SaveFile), present
 * only inside the window. */
interface DesktopBinding {
  SaveFile(name: string, base64: string): Promise<string>;
}

function desktopBinding(): DesktopBinding | undefined {
  const w = globalThis as unknown as { go?: { desktop?: { Desktop?: DesktopBinding } } };
  return w.go?.desktop?.Desktop;
}

/** inDesktopWindow says whether the page runs in Cairn's desktop window. */
export function inDesktopWindow(): boolean {
  return desktopBinding() !== undefined;
}

async function base64(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** saveFile offers blob as a file named name. It resolves to where the
 * file was written (the desktop window), "" if the person cancelled the
 * dialog, or "download" when the browser took it. */
export async function saveFile(blob: Blob, name: string): Promise<string> {
  const d = desktopBinding();
  if (d) return d.SaveFile(name, await base64(blob));
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  return "download";
}
