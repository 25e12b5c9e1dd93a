// Saving a file the page made (an export, a dataset, the recovery key).
// A browser offers it as a download; the desktop window has no download
// bar, so there Go shows the system's save dialog and writes the file.

/** The desktop window's binding (Go: Desktop.SaveFile), present only
 * inside the window, as window.go.<Go package>.Desktop. */
interface DesktopBinding {
  SaveFile(name: string, base64: string): Promise<string>;
}

function desktopBinding(): DesktopBinding | undefined {
  const go = (globalThis as unknown as { go?: Record<string, { Desktop?: DesktopBinding }> }).go;
  for (const pkg of Object.values(go ?? {})) {
    if (typeof pkg?.Desktop?.SaveFile === "function") return pkg.Desktop;
  }
  return undefined;
}

/** inDesktopWindow says whether the page runs in Cairn's desktop window. */
export function inDesktopWindow(): boolean {
  return desktopBinding() !== undefined;
}

/** base64 of a blob's bytes, as Go's encoding/json reads a []byte. */
function base64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ""));
    r.onerror = () => reject(r.error ?? new Error("could not read the file to save"));
    r.readAsDataURL(blob);
  });
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
